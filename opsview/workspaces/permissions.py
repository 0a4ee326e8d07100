"""What each role may do. Every view, API endpoint and service asks ``can``."""

from django.core.exceptions import PermissionDenied

from opsview.workspaces.roles import Role
from opsview.workspaces.scoping import roles_by_workspace

VIEW = "view"
COMMENT = "comment"
ACT = "act"  # triage, resolve, replay exceptions
ADMINISTER = "administer"  # systems, tokens, thresholds, fix guides
AUDIT = "audit"  # the workspace-wide audit trail; not managers, whose view stops at their projects

ALLOWED = {
    VIEW: {Role.ADMIN, Role.OPERATOR, Role.MANAGER, Role.EXECUTIVE},
    COMMENT: {Role.ADMIN, Role.OPERATOR, Role.MANAGER},
    ACT: {Role.ADMIN, Role.OPERATOR},
    ADMINISTER: {Role.ADMIN},
    AUDIT: {Role.ADMIN, Role.OPERATOR, Role.EXECUTIVE},
}


def role_of(user, workspace):
    if user is None or not user.is_authenticated or workspace is None:
        return None
    return roles_by_workspace(user).get(getattr(workspace, "pk", workspace))


def can(user, workspace, action):
    return role_of(user, workspace) in ALLOWED[action]


def require(user, workspace, action):
    """Raise PermissionDenied unless the user's role in the workspace allows the action."""
    if not can(user, workspace, action):
        raise PermissionDenied(f"Your role in this workspace does not allow '{action}'.")
