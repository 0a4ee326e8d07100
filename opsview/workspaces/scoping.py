"""The one place where rows are narrowed to what a user may see.

Every model that belongs to a workspace uses ``WorkspaceQuerySet``; every view,
API endpoint and task gets its rows through ``visible_to`` (a signed-in user)
or ``for_workspace`` (an integration token, a background task). A manager sees
only what hangs off their own projects: models say how they reach the manager
with ``MANAGER_SCOPE``, a lookup path to the managing user.
"""

from django.db import models
from django.db.models import BigIntegerField, Q, Value
from django.db.models.functions import Cast

from opsview.workspaces.roles import Role

# A request's user carries its roles, loaded once by CurrentWorkspaceMiddleware:
# a dashboard scopes dozens of querysets and must not ask for them each time.
ROLES_ATTRIBUTE = "_opsview_roles"


def remember_roles(user, memberships):
    """Keep ``user``'s role in each workspace on the user object, for the rest of this request."""
    setattr(user, ROLES_ATTRIBUTE, {m.workspace_id: m.role for m in memberships})


def roles_by_workspace(user):
    """``{workspace_id: role}`` for ``user``: remembered for this request, else read from the database."""
    roles = getattr(user, ROLES_ATTRIBUTE, None)
    if roles is None:
        roles = dict(user.memberships.values_list("workspace_id", "role"))
    return roles


def _sees_whole(role):
    """Every role sees all of its workspace's rows but a manager, who sees what hangs off their own projects."""
    return role != Role.MANAGER


def seen_whole(user, workspace_ids):
    """Those of ``workspace_ids`` whose rows ``user`` sees all of, as ``visible_to`` narrows them; all of them
    without a user (a task, the command line), as ``kpis.scope.Scopes`` reads rows without one."""
    if user is None:
        return list(workspace_ids)
    roles = roles_by_workspace(user) if user.is_authenticated else {}
    return [pk for pk in workspace_ids if pk in roles and _sees_whole(roles[pk])]


class WorkspaceQuerySet(models.QuerySet):
    def for_workspace(self, workspace):
        return self.filter(workspace=workspace)

    def visible_to(self, user, workspace=None):
        """Rows of the user's workspaces (or of ``workspace`` only), as their role allows."""
        if user is None or not user.is_authenticated:
            return self.none()
        only = getattr(workspace, "pk", workspace)
        full, managed = [], []
        for workspace_id, role in roles_by_workspace(user).items():
            if only is None or workspace_id == only:
                (full if _sees_whole(role) else managed).append(workspace_id)
        condition = _of_firms(full)
        if managed:
            scope = getattr(self.model, "MANAGER_SCOPE", None)
            if scope is None:
                condition |= _of_firms(managed)
            elif _many_valued(self.model, scope):
                # A row reached through several others (a client through its projects) must come once.
                mine = self.model.objects.filter(_of_firms(managed), **{scope: user}).values("pk")
                condition |= _of_firms(managed) & Q(pk__in=mine)
            else:
                condition |= _of_firms(managed) & Q(**{scope: user})
        return self.filter(condition)


def _of_firms(ids):
    """Rows of the firms ``ids``. One firm's id is said in the column's own type (bigint): Django writes an id
    as a plain integer, which an index keyed by firm through btree_gin does not take (the queue search's, where
    a firm's search for its commonest error took 690 ms instead of 28 in a year's data)."""
    if len(ids) == 1:
        return Q(workspace_id=Cast(Value(ids[0]), BigIntegerField()))
    return Q(workspace_id__in=ids)


def _many_valued(model, path):
    """Whether ``path``'s first step goes from ``model`` to many rows (a reverse foreign key)."""
    first = model._meta.get_field(path.split("__")[0])
    return first.one_to_many or first.many_to_many


class WorkspaceOwned(models.Model):
    """Base for every row the app stores on behalf of a workspace."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceQuerySet.as_manager()

    # Lookup from this model to the user who manages it; None means managers
    # see every row of their workspace (e.g. the workspace's systems).
    MANAGER_SCOPE = None

    class Meta:
        abstract = True
