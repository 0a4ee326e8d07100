from opsview.workspaces.permissions import ACT, ADMINISTER, ALLOWED, AUDIT


def current_workspace(request):
    membership = getattr(request, "membership", None)
    return {
        "workspace": getattr(request, "workspace", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "is_workspace_admin": membership is not None and membership.role in ALLOWED[ADMINISTER],
        "can_read_audit": membership is not None and membership.role in ALLOWED[AUDIT],
        "can_replay": membership is not None and membership.role in ALLOWED[ACT],
    }
