"""One queue across the firms a person works in: which firms a queue request covers, and acting on a
selection firm by firm.

Partner staff hold a real membership in each firm they serve (``workspaces.partners``). ``firm=all`` in the
queue's query lists the exceptions of every firm the person belongs to, ``firm=<slug>`` those of one of them;
without ``firm`` the queue is the current workspace's, as it always was. The rows still come from
``visible_to`` (scoping stays in one place), so a manager in one firm and operator in another sees in each
exactly what that role allows there.

An action on a selection that spans firms is split by firm, and each firm's part goes through the same
service with its own permission check and its own audit entries. If any part is refused, nothing of the
request is done: a batch is never half-written.
"""

from dataclasses import dataclass

from django.db import transaction

from opsview.queues.models import ExceptionGroup, ExceptionItem
from opsview.queues.services import ActionRefused
from opsview.workspaces.permissions import ACT, COMMENT, can, role_of
from opsview.workspaces.roles import Role

ALL = "all"  # firm=all: every firm of the person's


@dataclass(frozen=True)
class QueueScope:
    """The firms one queue request covers, for ``user`` whose current workspace is ``current``.

    ``across`` is the "All my firms" queue (``firm=all`` or ``firm=<slug>``); ``chosen`` the one firm its
    filter narrows to; ``problem`` says which asked-for firm was not one of the person's.
    """

    user: object
    current: object
    firms: tuple  # every workspace the user is a member of, by name
    across: bool = False
    chosen: object = None
    problem: str = ""

    @property
    def param(self):
        """The query's ``firm`` value that asks for this scope again: "" (this firm), "all" or a slug."""
        if not self.across:
            return ""
        return self.chosen.slug if self.chosen is not None else ALL

    @property
    def several(self):
        """True when the person works in more than one firm: the queue offers "All my firms"."""
        return len(self.firms) > 1

    @property
    def workspaces(self):
        """The firms whose exceptions are listed."""
        if not self.across:
            return (self.current,)
        return (self.chosen,) if self.chosen is not None else self.firms

    @property
    def narrowed_to(self):
        """The workspace ``visible_to`` narrows to: one firm, or None for every firm of the person's."""
        if not self.across:
            return self.current
        return self.chosen

    def items(self):
        """The exceptions of the scope that the person may see, as their role in each firm allows."""
        return ExceptionItem.objects.visible_to(self.user, self.narrowed_to)

    def groups(self):
        return ExceptionGroup.objects.visible_to(self.user, self.narrowed_to)

    def permissions(self):
        """What the person may do in the scope: ``can_act``/``can_comment`` in any of its firms, and the ids of
        the firms where they may (``acting_in``, ``commenting_in``), which the table's rows follow."""
        acting = {w.pk for w in self.workspaces if can(self.user, w, ACT)}
        commenting = {w.pk for w in self.workspaces if can(self.user, w, COMMENT)}
        return {
            "can_act": bool(acting),
            "can_comment": bool(commenting),
            "acting_in": acting,
            "commenting_in": commenting,
        }


def scope_of(request, data=None):
    """The queue scope the query ``data`` (``request.GET`` unless given) asks for.

    A ``firm`` that is not one of the person's is named in ``problem`` and left out: the queue then shows all
    of their firms, never another's.
    """
    data = request.GET if data is None else data
    firms = tuple(sorted((m.workspace for m in request.memberships), key=lambda w: (w.name.lower(), w.pk)))
    wanted = str(data.get("firm") or "").strip()
    base = {"user": request.user, "current": request.workspace, "firms": firms}
    if not wanted:
        return QueueScope(**base)
    if wanted == ALL:
        return QueueScope(**base, across=True)
    chosen = next((w for w in firms if w.slug == wanted), None)
    if chosen is None:
        return QueueScope(**base, across=True, problem=f"Firm: '{wanted[:40]}' is not one of your firms; ignored.")
    return QueueScope(**base, across=True, chosen=chosen)


def by_firm(scope, items):
    """``items`` split by firm: ``[(workspace, its items)]`` for each firm of the scope holding any (one query)."""
    held = set(items.order_by().values_list("workspace_id", flat=True).distinct())
    return [(w, items.filter(workspace=w)) for w in scope.workspaces if w.pk in held]


def _role_name(user, workspace):
    role = role_of(user, workspace)
    return Role(role).label.lower() if role else "no member"


def refuse_unless_allowed(actor, parts, permission, what):
    """Refuse the whole request, naming each firm, unless ``actor`` may do ``permission`` in every firm of
    ``parts``: a batch is never done in the firms that allow it and left undone in the others."""
    refused = [(w, part) for w, part in parts if not can(actor, w, permission)]
    if not refused:
        return
    where = "; ".join(
        f"in {w.name} you are {_role_name(actor, w)} ({part.count()} of the selected are there)" for w, part in refused
    )
    raise ActionRefused(
        f"Nothing was {what}: your role does not allow it in every firm of the selection: {where}. "
        "Untick those exceptions or narrow the queue to one firm."
    )


def refuse_unless_teammate(assignee, parts):
    """Refuse the whole assignment unless ``assignee`` may work exceptions in every firm of ``parts``."""
    if assignee is None:
        return
    missing = [w.name for w, _ in parts if not can(assignee, w, ACT)]
    if missing:
        raise ActionRefused(
            f"Nothing was assigned: {assignee.get_username()} cannot work exceptions in {', '.join(missing)}. "
            "Assign each firm's exceptions to a teammate of that firm."
        )


def in_each_firm(actor, parts, permission, what, do):
    """``do(workspace, items)`` for each firm's part, all or nothing; ``[(workspace, its result)]``.

    Each part goes through the service's own permission check and audits in its own firm; one refusal (a
    role, an assignee who is not a teammate there) rolls every part back.
    """
    refuse_unless_allowed(actor, parts, permission, what)
    with transaction.atomic():
        return [(workspace, do(workspace, part)) for workspace, part in parts]
