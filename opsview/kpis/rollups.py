"""The daily roll-ups, kept by a django-q2 schedule (hourly, created by migration kpis 0002).

Some figures are too costly to compute live over months of history at scale:
the backlog at the end of each past day, the first posting of every entry, a
month of sync events, the lag of every invoiced entry, the first arrival of every record in the ERP. So each
finished local day of a workspace is computed once, with the same functions that define the KPIs live
(``unbilled_entries``, ``posted_time``, ``sync_events_behind``, ``billed_entries``, ``first_arrivals``), and
stored. ``rollup_missing_days`` is
the task: it computes the finished days not rolled up yet, and nothing else.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from opsview.kpis.billing import billed_entries, posted_time
from opsview.kpis.expressions import entry_totals
from opsview.kpis.models import DailyBillingLag, DailySync, DailyWip, FirstArrival, PostingTime, RollupDay
from opsview.kpis.scope import Scope
from opsview.kpis.straight_through import first_arrivals
from opsview.kpis.sync import sync_events_behind
from opsview.kpis.wip import unbilled_entries
from opsview.records.models import TimeEntry, TimeEntryStatus
from opsview.telemetry.models import Outcome
from opsview.workspaces.models import Workspace

DEFAULT_DAYS = 185  # six months: the longest preset period (90 days) and the one before it


def _wip(scope):
    rows = unbilled_entries(scope).values("project_id", "currency").annotate(**entry_totals()).order_by()
    return [
        DailyWip(
            workspace=scope.workspace,
            day=scope.start,
            project_id=row["project_id"],
            currency=row["currency"],
            entries=row["n"],
            hours=row["sum_hours"],
            value=round(row["sum_value"], 2),
        )
        for row in rows
    ]


def _sync(scope):
    rows = (
        sync_events_behind(scope)
        .values("source_system_id", "target_system_id", "run__flow")
        .annotate(
            succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
            failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        )
        .order_by()
    )
    return [
        DailySync(
            workspace=scope.workspace,
            day=scope.start,
            source_system_id=row["source_system_id"],
            target_system_id=row["target_system_id"],
            flow=row["run__flow"] or "",
            succeeded=row["succeeded"],
            failed=row["failed"],
        )
        for row in rows
    ]


def _postings(scope):
    postings = list(posted_time(scope).values("entry_id", "occurred_at", "days"))
    entries = TimeEntry.objects.filter(pk__in=[p["entry_id"] for p in postings]).values("pk", "project_id", "system_id")
    entries = {e["pk"]: e for e in entries}
    return [
        PostingTime(
            workspace=scope.workspace,
            time_entry_id=p["entry_id"],
            project_id=entry["project_id"],
            system_id=entry["system_id"],
            posted_at=p["occurred_at"],
            days=p["days"],
        )
        for p in postings
        for entry in [entries[p["entry_id"]]]
    ]


def _billing_lag(scope):
    rows = (
        billed_entries(scope)
        .values("project_id", "system_id", "lag_days")
        .annotate(n=Count("id"), sum_hours=Sum("hours"))
        .order_by()
    )
    return [
        DailyBillingLag(
            workspace=scope.workspace,
            day=scope.start,
            project_id=row["project_id"],
            system_id=row["system_id"],
            lag_days=row["lag_days"],
            entries=row["n"],
            hours=row["sum_hours"],
        )
        for row in rows
    ]


def _arrivals(scope):
    rows = first_arrivals(scope).values(
        "source_system_id", "record_type", "external_id", "target_system_id", "occurred_at"
    )
    return [
        FirstArrival(
            workspace=scope.workspace,
            day=scope.start,
            source_system_id=row["source_system_id"],
            record_type=row["record_type"],
            external_id=row["external_id"],
            target_system_id=row["target_system_id"],
            arrived_at=row["occurred_at"],
        )
        for row in rows.order_by()
    ]


def rollup_day(workspace, day, now=None):
    """Compute and store every roll-up of ``workspace`` for local ``day`` (again, if it was); returns rows written."""
    now = now or timezone.now()
    scope = Scope(workspace=workspace, start=day, end=day, now=now)
    wip, sync, postings, lags = _wip(scope), _sync(scope), _postings(scope), _billing_lag(scope)
    arrivals = _arrivals(scope)
    with transaction.atomic():
        DailyWip.objects.filter(workspace=workspace, day=day).delete()
        DailySync.objects.filter(workspace=workspace, day=day).delete()
        DailyBillingLag.objects.filter(workspace=workspace, day=day).delete()
        FirstArrival.objects.filter(workspace=workspace, day=day).delete()
        PostingTime.objects.filter(
            workspace=workspace, posted_at__gte=scope.start_at, posted_at__lt=scope.end_at
        ).delete()
        DailyWip.objects.bulk_create(wip, batch_size=1000)
        DailySync.objects.bulk_create(sync, batch_size=1000)
        DailyBillingLag.objects.bulk_create(lags, batch_size=1000)
        FirstArrival.objects.bulk_create(arrivals, batch_size=1000)
        # An entry is posted first once; a recomputed earlier day may already hold it.
        PostingTime.objects.bulk_create(postings, batch_size=1000, ignore_conflicts=True)
        RollupDay.objects.update_or_create(workspace=workspace, day=day, defaults={"computed_at": now})
    return len(wip) + len(sync) + len(postings) + len(lags) + len(arrivals)


def finished_days(workspace, days, now=None):
    """The last ``days`` days of ``workspace`` that have ended in its time zone, oldest first."""
    today = timezone.localtime(now or timezone.now(), ZoneInfo(workspace.time_zone)).date()
    return [today - timedelta(days=n) for n in range(days, 0, -1)]


def prune_postings(workspace):
    """Forget the postings of entries that are no longer approved (rejected, or sent back for changes)."""
    waiting = TimeEntry.objects.for_workspace(workspace).exclude(status=TimeEntryStatus.APPROVED).values("pk")
    return PostingTime.objects.filter(workspace=workspace, time_entry__in=waiting).delete()[0]


def rollup_missing_days(days=DEFAULT_DAYS, workspaces=None, recompute=False, now=None):
    """The scheduled task: roll up every finished day of the last ``days`` not rolled up yet; returns days computed."""
    computed = 0
    for workspace in workspaces if workspaces is not None else Workspace.objects.all():
        prune_postings(workspace)
        done = set() if recompute else set(RollupDay.objects.for_workspace(workspace).values_list("day", flat=True))
        for day in finished_days(workspace, days, now):
            if day not in done:
                rollup_day(workspace, day, now)
                computed += 1
    return computed
