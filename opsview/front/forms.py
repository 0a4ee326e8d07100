"""The workspace's branding form: name, accent colour and logo."""

from django import forms

from opsview.workspaces.logos import LOGO_HELP, check_logo
from opsview.workspaces.models import Workspace
from opsview.workspaces.theme import DEFAULT_ACCENT


class BrandingForm(forms.ModelForm):
    logo = forms.FileField(required=False, help_text=LOGO_HELP)
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
        return check_logo(self.cleaned_data.get("logo"))
