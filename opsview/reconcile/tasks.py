"""Reconciliation in the background: the daily and period-close schedules, and a queued "Run now"."""

from datetime import timedelta

from django.utils import timezone

from opsview.reconcile.models import ReconciliationRun, RunState, Trigger
from opsview.reconcile.periods import Period
from opsview.reconcile.services import run_reconciliation
from opsview.workspaces.models import Workspace


def reconcile_daily(now=None):
    """This month, in every workspace."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    for workspace in Workspace.objects.all():
        run_reconciliation(workspace, Period.of(today), Trigger.DAILY, now=now)


def reconcile_period_close(now=None):
    """The month that just ended, in every workspace. Scheduled daily, it acts on the first day of a month
    only: django-q2's monthly schedule would count a month from whenever it was installed."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if today.day != 1:
        return 0
    closed = Period.of(today - timedelta(days=1))
    for workspace in Workspace.objects.all():
        run_reconciliation(workspace, closed, Trigger.PERIOD_CLOSE, now=now)
    return 1


def run_requested(run_id):
    """The run an operator queued with "Run now"."""
    run = ReconciliationRun.objects.select_related("workspace", "requested_by").filter(pk=run_id).first()
    if run is None or run.status != RunState.QUEUED:
        return None
    return run_reconciliation(run.workspace, Period.parse(run.period), Trigger.MANUAL, run.requested_by, run=run).pk
