"""Background work for the queues, run by django-q2 schedules (see opsview/common/schedules.py).

Each task is a short function, callable and testable alone.
"""

from django.db import transaction
from django.utils import timezone

from opsview.audit.trail import record_many
from opsview.queues import state_rules
from opsview.queues.models import ExceptionItem, Status
from opsview.queues.stakes import refresh_stakes
from opsview.workspaces.models import Workspace


def scan_business_states():
    """Open and resolve state exceptions in every workspace: cut-offs pass without any new report."""
    for workspace in Workspace.objects.all():
        state_rules.scan_workspace(workspace)


def wake_snoozed(now=None):
    """Snoozed exceptions whose date has come are open again."""
    now = now or timezone.now()
    due = ExceptionItem.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now)
    woken = 0
    for workspace in Workspace.objects.filter(id__in=due.values("workspace_id")):
        fields = ("id", "source_system_id", "record_type", "external_id", "snoozed_until")
        items = list(due.filter(workspace=workspace).only(*fields))
        with transaction.atomic():
            ExceptionItem.objects.filter(pk__in=[i.pk for i in items]).update(status=Status.OPEN, snoozed_until=None)
            changes = [(i, {"status": Status.SNOOZED}, {"status": Status.OPEN}) for i in items]
            record_many(workspace, None, "exception.wake", changes, note="Its snooze ended.")
            refresh_stakes(workspace.pk, {item.record_ref for item in items})
        woken += len(items)
    return woken
