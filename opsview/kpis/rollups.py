"""The daily roll-ups, kept by a django-q2 schedule (hourly, created by migration kpis 0002).

Some figures are too costly to compute live over months of history at scale:
the backlog at the end of each past day, the first posting of every entry, a
month of sync events, the lag of every invoiced entry, the first arrival of every record in the ERP. So each
finished local day of a workspace is computed once, with the same functions that define the KPIs live
(``unbilled_entries``, ``posted_time``, ``sync_events_behind``, ``billed_entries``, ``first_arrivals``), and
stored. ``rollup_missing_days`` is
the task: it computes the finished days not rolled up yet, and nothing else.

Every roll-up but the backlog adds up over days (each event, posting, invoiced entry or first arrival
belongs to one local day), so a run of missing days is computed with one query each over the whole run,
grouped by day: a workspace's six months, or a year's data loaded at once, cost a few queries per
roll-up instead of a few per day. The backlog is a snapshot at each day's end, taken day by day.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
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
RUN_DAYS = 31  # the most days computed by one query: bounds the rows held in memory at once


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
        .annotate(day=TruncDate("occurred_at", tzinfo=scope.tz))
        .values("day", "source_system_id", "target_system_id", "run__flow")
        .annotate(
            succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
            failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        )
        .order_by()
    )
    return [
        DailySync(
            workspace=scope.workspace,
            day=row["day"],
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
        .values("project_id", "system_id", "lag_days", day=F("invoice__issue_date"))
        .annotate(n=Count("id"), sum_hours=Sum("hours"))
        .order_by()
    )
    return [
        DailyBillingLag(
            workspace=scope.workspace,
            day=row["day"],
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
            day=timezone.localtime(row["occurred_at"], scope.tz).date(),
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
    return rollup_days(workspace, [day], now)


def rollup_days(workspace, days, now=None):
    """Compute and store every roll-up of ``workspace`` for the local ``days`` (again, if they were), each run
    of consecutive days at once; returns rows written."""
    now = now or timezone.now()
    written = 0
    for start, end in _runs(sorted(days)):
        scope = Scope(workspace=workspace, start=start, end=end, now=now)
        run = scope.each_day()
        wip = [row for day in run for row in _wip(scope.with_period(day, day))]
        sync, postings, lags, arrivals = _sync(scope), _postings(scope), _billing_lag(scope), _arrivals(scope)
        with transaction.atomic():
            for model in (DailyWip, DailySync, DailyBillingLag, FirstArrival):
                model.objects.filter(workspace=workspace, day__in=run).delete()
            PostingTime.objects.filter(
                workspace=workspace, posted_at__gte=scope.start_at, posted_at__lt=scope.end_at
            ).delete()
            DailyWip.objects.bulk_create(wip, batch_size=1000)
            DailySync.objects.bulk_create(sync, batch_size=1000)
            DailyBillingLag.objects.bulk_create(lags, batch_size=1000)
            FirstArrival.objects.bulk_create(arrivals, batch_size=1000)
            # An entry is posted first once; a recomputed earlier day may already hold it.
            PostingTime.objects.bulk_create(postings, batch_size=1000, ignore_conflicts=True)
            RollupDay.objects.filter(workspace=workspace, day__in=run).delete()
            RollupDay.objects.bulk_create([RollupDay(workspace=workspace, day=day, computed_at=now) for day in run])
        written += len(wip) + len(sync) + len(postings) + len(lags) + len(arrivals)
    return written


def _runs(days):
    """``(first, last)`` of each run of consecutive ``days`` (sorted), at most ``RUN_DAYS`` long."""
    runs = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < RUN_DAYS:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [tuple(run) for run in runs]


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
        missing = [day for day in finished_days(workspace, days, now) if day not in done]
        rollup_days(workspace, missing, now)
        computed += len(missing)
    return computed
