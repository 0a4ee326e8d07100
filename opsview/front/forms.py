"""The workspace's branding form: name, accent colour and logo."""

from django import forms

from opsview.workspaces.models import Workspace
from opsview.workspaces.theme import DEFAULT_ACCENT

LOGO_MAX_BYTES = 256 * 1024
LOGO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif"}


class BrandingForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text="PNG, JPEG, WebP, GIF or SVG, at most 256 KB; about 24 px high.")
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    class Meta:
        model = Workspace
        fields = ["name", "accent_color"]
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.accent_color:
            self.initial["accent_color"] = DEFAULT_ACCENT

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo is None:
            return None
        if logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("The logo is larger than 256 KB.")
        if logo.content_type not in LOGO_TYPES:
            raise forms.ValidationError("The logo must be a PNG, JPEG, WebP, GIF or SVG image.")
        return logo
