"""Workspace branding: name, logo and accent colour, set by the workspace's admins and shown on every page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from opsview.audit.trail import record
from opsview.workspaces.http import require_workspace
from opsview.workspaces.models import Workspace, WorkspaceLogo
from opsview.workspaces.permissions import ADMINISTER, can, require

DEFAULT_ACCENT = "#2456a6"
LOGO_MAX_BYTES = 256 * 1024
LOGO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif"}


def update_branding(actor, workspace, name, accent_color, logo=None, logo_type="", remove_logo=False):
    """Set the workspace's name, accent colour and (new, kept or removed) logo; audited. Returns the workspace."""
    require(actor, workspace, ADMINISTER)
    before = {"name": workspace.name, "accent_color": workspace.accent_color, "logo": bool(workspace.logo_updated_at)}
    workspace.name, workspace.accent_color = name, accent_color
    if logo is not None:
        WorkspaceLogo.objects.update_or_create(
            workspace=workspace, defaults={"content": logo, "content_type": logo_type}
        )
        workspace.logo_updated_at = timezone.now()
    elif remove_logo:
        WorkspaceLogo.objects.filter(workspace=workspace).delete()
        workspace.logo_updated_at = None
    workspace.save(update_fields=["name", "accent_color", "logo_updated_at"])
    after = {"name": workspace.name, "accent_color": workspace.accent_color, "logo": bool(workspace.logo_updated_at)}
    if after != before or logo is not None:
        record(workspace, actor, "workspace.branding", workspace, before=before, after=after)
    return workspace


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


@login_required
def branding(request):
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only workspace admins change the branding.")
    form = BrandingForm(request.POST or None, request.FILES or None, instance=workspace)
    if request.method == "POST" and form.is_valid():
        logo = form.cleaned_data["logo"]
        update_branding(
            request.user, workspace, form.cleaned_data["name"], form.cleaned_data["accent_color"],
            logo=logo.read() if logo else None, logo_type=logo.content_type if logo else "",
            remove_logo=form.cleaned_data["remove_logo"],
        )  # fmt: skip
        messages.success(request, "Branding saved; every page of this workspace shows it now.")
        return redirect("branding")
    return render(request, "workspaces/branding.html", {"form": form})


@login_required
@require_GET
def logo(request, pk):
    """The logo of a workspace the user belongs to; 404 for any other."""
    workspace = get_object_or_404(Workspace.objects.visible_to(request.user), pk=pk)
    image = get_object_or_404(WorkspaceLogo, workspace=workspace)
    response = HttpResponse(bytes(image.content), content_type=image.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    # An SVG opened on its own must not run scripts or load anything.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
