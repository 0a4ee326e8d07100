"""Which exceptions a form targets: the one rule for the queue's action forms and the replay forms.

A form names its exceptions in one of three ways: ``one`` (a row's or a detail page's form; a row's own
button sends ``quick`` = "claim:42"), ``group`` (a whole group, from its page), or the ticked ``ids`` of a
list. Every way is narrowed to what the person may see, so a foreign id selects nothing.
"""

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from opsview.common.bounds import id_or_none
from opsview.queues.models import ExceptionGroup, ExceptionItem


@dataclass(frozen=True)
class Selection:
    """The exceptions a form targets, and how it named them."""

    items: QuerySet
    label: str  # for messages: "1 exception", "the group", "3 selected"
    one: bool = False
    group: ExceptionGroup | None = None
    ids: list = field(default_factory=list)

    @property
    def nothing_ticked(self):
        """True when the form named no exception at all: no ``one``, no ``group`` and no usable ``ids``."""
        return not self.one and self.group is None and not self.ids


def selected(request, workspace):
    """The exceptions the POSTed form targets, among those ``request.user`` sees in ``workspace``.

    A group the person cannot see answers 404; an exception they cannot see selects nothing.
    """
    visible = ExceptionItem.objects.visible_to(request.user, workspace)
    one = request.POST.get("one") or request.POST.get("quick", "").partition(":")[2]
    if one:
        return Selection(visible.filter(pk=id_or_none(one) or 0), "1 exception", one=True)
    if request.POST.get("group"):
        groups = ExceptionGroup.objects.visible_to(request.user, workspace)
        group = get_object_or_404(groups, pk=id_or_none(request.POST["group"]) or 0)
        return Selection(visible.filter(group=group), "the group", group=group)
    ids = [i for i in map(id_or_none, request.POST.getlist("ids")) if i]
    return Selection(visible.filter(pk__in=ids), f"{len(ids)} selected", ids=ids)
