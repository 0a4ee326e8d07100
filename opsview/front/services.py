"""What a workspace's admins do to the workspace itself: its branding. Checked against the actor's role and audited."""

from django.utils import timezone

from opsview.audit.trail import record
from opsview.workspaces.models import WorkspaceLogo
from opsview.workspaces.permissions import ADMINISTER, require


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
