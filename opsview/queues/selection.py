"""Which exceptions an action form targets: ``one`` (or a row's ``quick`` button), a whole ``group``, every
exception ``matching`` the list's query, or the ticked ``ids`` of a list. Every way is narrowed to what the
person may see, so a foreign id selects nothing.
"""

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404

from opsview.common.bounds import id_or_none
from opsview.queues.filtersets import QueueFilterSet
from opsview.queues.firms import QueueScope
from opsview.queues.models import ExceptionGroup, ExceptionItem
from opsview.queues.services import ActionRefused


@dataclass(frozen=True)
class Selection:
    """The exceptions a form targets, and how it named them."""

    items: QuerySet
    label: str  # for messages: "1 exception", "the group", "3 selected", "all 40 matching"
    one: bool = False
    group: ExceptionGroup | None = None
    ids: list = field(default_factory=list)
    matching: bool = False

    @property
    def nothing_ticked(self):
        """True when the form named no exception at all: no ``one``, no ``group``, no usable ``ids`` and not
        every match of the list."""
        return not self.one and self.group is None and not self.ids and not self.matching


def selected(request, where):
    """The exceptions the POSTed form targets, among those ``request.user`` sees in ``where``: a workspace,
    or a ``QueueScope`` (the queue across the person's firms).

    A group the person cannot see answers 404; an exception they cannot see selects nothing. ``matching``
    holds the list's query string: every exception the list matches, on every page, as its filters say.
    """
    if isinstance(where, QueueScope):
        visible, groups, workspace = where.items(), where.groups(), where.narrowed_to
    else:
        visible = ExceptionItem.objects.visible_to(request.user, where)
        groups, workspace = ExceptionGroup.objects.visible_to(request.user, where), where
    one = request.POST.get("one") or request.POST.get("quick", "").partition(":")[2]
    if one:
        return Selection(visible.filter(pk=id_or_none(one) or 0), "1 exception", one=True)
    if request.POST.get("group"):
        group = get_object_or_404(groups, pk=id_or_none(request.POST["group"]) or 0)
        return Selection(visible.filter(group=group), "the group", group=group)
    if request.POST.get("matching"):
        query = QueryDict(request.POST["matching"].lstrip("?"))
        firms = where.workspaces if isinstance(where, QueueScope) else None
        filterset = QueueFilterSet(query, visible, user=request.user, workspace=workspace, firms=firms)
        if filterset.problems:
            # Acting on "every match" of filters that were not understood would act on other rows than shown.
            raise ActionRefused("Nothing was done: " + " ".join(filterset.problems))
        return Selection(filterset.qs.order_by(), "all matching", matching=True)
    ids = [i for i in map(id_or_none, request.POST.getlist("ids")) if i]
    return Selection(visible.filter(pk__in=ids), f"{len(ids)} selected", ids=ids)
