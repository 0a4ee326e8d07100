"""What every page's view asks first: the current workspace, the admin's right, a safe place to go back to."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.http import url_has_allowed_host_and_scheme

from opsview.workspaces.permissions import ADMINISTER, can


def require_workspace(request):
    """The workspace the request works in (set by CurrentWorkspaceMiddleware); 404 for a user with none."""
    if request.workspace is None:
        raise Http404("You are not a member of any workspace.")
    return request.workspace


def require_admin(request):
    """The current workspace, if the user administers it; 403 otherwise."""
    workspace = require_workspace(request)
    if not can(request.user, workspace, ADMINISTER):
        raise PermissionDenied("Only workspace admins manage systems and API tokens.")
    return workspace


def safe_next(request, fallback):
    """The form's ``next``, if it is a path of this site; else ``fallback`` (a path or a URL name)."""
    target = request.POST.get("next") or ""
    # Only a path of this site: redirect() would read any other word as the name of a URL pattern.
    is_path = target.startswith("/") and not target.startswith("//")
    if is_path and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def work_in(request, workspace_id):
    """Make ``workspace_id``, one of the user's, the request's and the session's workspace (as switching
    does): a page of another of the person's firms then shows that firm's header, and what it posts acts
    there. Returns the workspace, or None when the user is not a member of it."""
    from opsview.workspaces.middleware import SESSION_KEY

    for membership in request.memberships:
        if membership.workspace_id == workspace_id:
            request.session[SESSION_KEY] = workspace_id
            request.membership, request.workspace = membership, membership.workspace
            return membership.workspace
    return None
