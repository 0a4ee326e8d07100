"""The daily roll-up of invoice-ready backlog, kept by a django-q2 schedule.

The schedule (hourly, created by migration kpis 0002) runs ``rollup_missing_days``.

The backlog at the end of a past day needs every approval and invoice up to
then; computing a month of such days live on each page view would be too slow
at scale. So each finished day is computed once, with the same definition as the
live KPI (``unbilled_entries``), and stored per project and currency.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from opsview.kpis.expressions import entry_totals
from opsview.kpis.models import DailyWip, WipRollup
from opsview.kpis.scope import Scope
from opsview.kpis.wip import unbilled_entries
from opsview.workspaces.models import Workspace

DEFAULT_DAYS = 35


def rollup_wip(workspace, day, now=None):
    """Compute and store ``workspace``'s invoice-ready backlog at the end of ``day``; returns the rows written."""
    now = now or timezone.now()
    scope = Scope(workspace=workspace, start=day, end=day, now=now)
    rows = unbilled_entries(scope).values("project_id", "currency").annotate(**entry_totals()).order_by()
    snapshot = [
        DailyWip(workspace=workspace, day=day, project_id=row["project_id"], currency=row["currency"],
                 entries=row["n"], hours=row["sum_hours"], value=round(row["sum_value"], 2))
        for row in rows
    ]  # fmt: skip
    with transaction.atomic():
        DailyWip.objects.filter(workspace=workspace, day=day).delete()
        DailyWip.objects.bulk_create(snapshot, batch_size=1000)
        WipRollup.objects.update_or_create(workspace=workspace, day=day, defaults={"computed_at": now})
    return len(snapshot)


def finished_days(workspace, days, now=None):
    """The last ``days`` days of ``workspace`` that have ended in its time zone, oldest first."""
    today = timezone.localtime(now or timezone.now(), ZoneInfo(workspace.time_zone)).date()
    return [today - timedelta(days=n) for n in range(days, 0, -1)]


def rollup_missing_days(days=DEFAULT_DAYS, workspaces=None, recompute=False, now=None):
    """The scheduled task: roll up every finished day of the last ``days`` not rolled up yet; returns days computed."""
    computed = 0
    for workspace in workspaces if workspaces is not None else Workspace.objects.all():
        wanted = finished_days(workspace, days, now)
        done = set() if recompute else set(WipRollup.objects.for_workspace(workspace).values_list("day", flat=True))
        for day in wanted:
            if day not in done:
                rollup_wip(workspace, day, now)
                computed += 1
    return computed
