from opsview.workspaces.models import Membership
from opsview.workspaces.scoping import remember_roles

SESSION_KEY = "workspace_id"


class CurrentWorkspaceMiddleware:
    """Sets ``request.workspace`` and ``request.membership`` to the signed-in user's chosen workspace.

    The choice lives in the session; a user who is no longer a member of it
    falls back to their first workspace, so a stale choice never leaks data.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.membership = None
        request.workspace = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.memberships = list(
                Membership.objects.filter(user=user).select_related("workspace", "workspace__partner")
            )
            remember_roles(user, request.memberships)
            chosen = request.session.get(SESSION_KEY)
            for membership in request.memberships:
                if membership.workspace_id == chosen:
                    request.membership = membership
                    break
            else:
                request.membership = request.memberships[0] if request.memberships else None
            if request.membership is not None:
                request.workspace = request.membership.workspace
        return self.get_response(request)
