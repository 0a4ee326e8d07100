"""The daily roll-ups, kept by a django-q2 schedule (hourly, created by migration kpis 0002).

Some figures are too costly to compute live over months of history at scale: the backlog at the end of
each past day, the first posting of every entry, a month of sync events, the lag of every invoiced entry,
the first arrival of every record in the ERP. So each finished local day of a workspace is computed once,
with the same functions that define the KPIs live (``posted_time``, ``sync_events_behind``,
``billed_entries``, ``first_arrivals``; for the backlog ``backlog_spans``, which gives each day the rows of
``unbilled_entries``), and stored. ``rollup_missing_days`` is the task: it computes the finished days not
rolled up yet, and nothing else.

A run of missing days (a month at most, ``RUN_DAYS``) is computed with one grouped query per roll-up over
the whole run: every roll-up but the backlog adds up over days (each event, posting, invoiced entry or first
arrival belongs to one local day), and the backlog of each day of the run follows from the day each entry
entered it and the day an invoice took it out. The database writes those rows itself (INSERT … SELECT), so
a year's postings and arrivals never pass through Python; only the backlog, a few rows per project and day,
is added up here. A firm's six months, or a year's data loaded at once, cost a few queries a month.
"""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.constants import OnConflict
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from opsview.kpis.billing import billed_entries, posted_time
from opsview.kpis.models import DailyBillingLag, DailySync, DailyWip, FirstArrival, PostingTime, RollupDay
from opsview.kpis.scope import Scope
from opsview.kpis.straight_through import first_arrivals
from opsview.kpis.sync import sync_events_behind
from opsview.kpis.wip import backlog_spans
from opsview.records.models import TimeEntry, TimeEntryStatus
from opsview.telemetry.models import Outcome
from opsview.workspaces.models import Workspace

DEFAULT_DAYS = 185  # six months: the longest preset period (90 days) and the one before it
RUN_DAYS = 31  # the most days computed by one query: bounds the rows held in memory and written at once
ROW = "rolled_"  # names a stored row's fields in the SELECT that computes them, apart from the source's fields


def _wip(scope):
    """The backlog at the end of each day of ``scope``'s period, per project and currency, from the spans of
    days its entries stay in it: the rows a query per day would give, from one query for the period."""
    totals = {}
    for span in backlog_spans(scope):
        last = scope.end if span["billed_on"] is None else min(scope.end, span["billed_on"] - timedelta(days=1))
        day = span["first"]
        while day <= last:
            tally = totals.setdefault((day, span["project_id"], span["currency"]), [0, Decimal(0), Decimal(0)])
            tally[0] += span["n"]
            tally[1] += span["sum_hours"]
            tally[2] += span["sum_value"]
            day += timedelta(days=1)
    return [
        DailyWip(
            workspace=scope.workspace,
            day=day,
            project_id=project_id,
            currency=currency,
            entries=n,
            hours=sum_hours,
            value=round(sum_value, 2),
        )
        for (day, project_id, currency), (n, sum_hours, sum_value) in totals.items()
    ]


def _sync(scope):
    """Store the period's succeeded and failed events per local day, systems and flow; returns rows written."""
    outcomes = {
        "succeeded": Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
        "failed": Count("id", filter=Q(outcome=Outcome.FAILED)),
    }
    return _store(
        DailySync,
        sync_events_behind(scope),
        {
            "workspace": F("workspace_id"),
            "day": TruncDate("occurred_at", tzinfo=scope.tz),
            "source_system": F("source_system_id"),
            "target_system": F("target_system_id"),
            "flow": Coalesce(F("run__flow"), Value("")),
        },
        totals=outcomes,
    )


def _postings(scope):
    """Store the first ERP posting of each approved entry posted in the period; returns rows written."""
    project = TimeEntry.objects.filter(pk=OuterRef("entry_id")).order_by().values("project_id")
    return _store(
        PostingTime,
        posted_time(scope),
        {
            "workspace": F("workspace_id"),
            "time_entry": F("entry_id"),
            "project": Subquery(project),
            # posted_time finds the entry in the posting's source system: that is the entry's system.
            "system": F("source_system_id"),
            "posted_at": F("occurred_at"),
            "days": F("days"),
        },
        # An entry is posted first once; a recomputed earlier day may already hold it.
        ignore_conflicts=True,
    )


def _billing_lag(scope):
    """Store the period's invoiced time per issue day, project, system and days of lag; returns rows written."""
    return _store(
        DailyBillingLag,
        billed_entries(scope),
        {
            "workspace": F("workspace_id"),
            "day": F("invoice__issue_date"),
            "project": F("project_id"),
            "system": F("system_id"),
            "lag_days": F("lag_days"),
        },
        totals={"entries": Count("id"), "hours": Sum("hours")},
    )


def _arrivals(scope):
    """Store each record's first arrival in an ERP that happened in the period; returns rows written."""
    return _store(
        FirstArrival,
        first_arrivals(scope),
        {
            "workspace": F("workspace_id"),
            "day": TruncDate("occurred_at", tzinfo=scope.tz),
            "source_system": F("source_system_id"),
            "record_type": F("record_type"),
            "external_id": F("external_id"),
            "target_system": F("target_system_id"),
            "arrived_at": F("occurred_at"),
        },
    )


def _store(model, queryset, columns, totals=None, ignore_conflicts=False):
    """Store ``queryset``'s rows in ``model`` with one INSERT … SELECT; returns rows written.

    ``columns`` are ``model``'s fields as expressions of each row, grouped by when ``totals`` adds aggregated
    fields. The database computes and writes the rows itself: a month of a firm's postings or arrivals never
    passes through Python.
    """
    fields = [*columns, *(totals or {})]
    rows = queryset.values(**{ROW + field: expression for field, expression in columns.items()})
    if totals:
        rows = rows.annotate(**{ROW + field: expression for field, expression in totals.items()})
    rows = rows.order_by()
    query, params = rows.query.get_compiler(rows.db).as_sql()
    ops = connections[rows.db].ops
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    statement = " ".join(
        [
            ops.insert_statement(on_conflict=on_conflict),
            ops.quote_name(model._meta.db_table),
            f"({', '.join(ops.quote_name(model._meta.get_field(field).column) for field in fields)})",
            f"SELECT {', '.join(ops.quote_name(ROW + field) for field in fields)} FROM ({query}) AS rolled",
            ops.on_conflict_suffix_sql(fields, on_conflict, None, None),
        ]
    )
    with connections[rows.db].cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def rollup_day(workspace, day, now=None):
    """Compute and store every roll-up of ``workspace`` for local ``day`` (again, if it was); returns rows written."""
    return rollup_days(workspace, [day], now)


def rollup_days(workspace, days, now=None):
    """Compute and store every roll-up of ``workspace`` for the local ``days`` that have ended by ``now`` (again,
    if they were), each run of consecutive days at once; returns rows written. A day not over yet is left out:
    its figures may still change."""
    now = now or timezone.now()
    today = timezone.localtime(now, ZoneInfo(workspace.time_zone)).date()
    written = 0
    for start, end in _runs(sorted(day for day in days if day < today)):
        scope = Scope(workspace=workspace, start=start, end=end, now=now)
        run = scope.each_day()
        wip = _wip(scope)
        with transaction.atomic():
            for model in (DailyWip, DailySync, DailyBillingLag, FirstArrival):
                model.objects.filter(workspace=workspace, day__in=run).delete()
            PostingTime.objects.filter(
                workspace=workspace, posted_at__gte=scope.start_at, posted_at__lt=scope.end_at
            ).delete()
            DailyWip.objects.bulk_create(wip, batch_size=1000)
            written += len(wip) + _sync(scope) + _postings(scope) + _billing_lag(scope) + _arrivals(scope)
            RollupDay.objects.filter(workspace=workspace, day__in=run).delete()
            RollupDay.objects.bulk_create([RollupDay(workspace=workspace, day=day, computed_at=now) for day in run])
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
