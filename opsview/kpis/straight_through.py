"""Straight-through processing: the records that reached the ERP without a person touching them.

Which records first reached an ERP on a day never changes once the day is over, so finished days are read
from the daily roll-up (``FirstArrival``, opsview.kpis.rollups) and the rest live; whether a person touched
a record may change any day, so it is always read live from the exceptions.
"""

from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate

from opsview.kpis.daily import rolled_up_days
from opsview.kpis.models import FirstArrival
from opsview.queues.models import ExceptionItem
from opsview.systems.models import SystemKind
from opsview.telemetry.models import Outcome, SyncEvent

# The record kinds counted, as sync events name them, with the words the KPI shows.
RECORD_KINDS = {"time_entry": "Time entry", "invoice": "Invoice"}


def share(straight, records):
    """straight ÷ records, or None when there was nothing to count."""
    return None if records == 0 else round(straight / records, 4)


def first_arrivals(scope, day=None):
    """Each record's first succeeded sync event to an ERP system, when it falls in the period (or on local ``day``).

    The one definition of what straight-through processing counts: the KPI
    tallies these events and the sync event list shows them. Each event
    carries ``touched``: the record has an exception in the workspace, open or
    resolved, before or after it reached the ERP.
    """
    start, end = scope.start_at, scope.end_at
    if day is not None:
        start, end = scope.midnight(day), scope.midnight(day + timedelta(days=1))
    # An earlier success of the same record to the same ERP, in this period or a
    # past one: the record counts once, at its first arrival (ties go to the lower id).
    earlier = SyncEvent.objects.filter(
        workspace=scope.workspace,
        record_type=OuterRef("record_type"),
        external_id=OuterRef("external_id"),
        source_system_id=OuterRef("source_system_id"),
        target_system_id=OuterRef("target_system_id"),
        outcome=Outcome.SUCCEEDED,
    ).filter(Q(occurred_at__lt=OuterRef("occurred_at")) | Q(occurred_at=OuterRef("occurred_at"), id__lt=OuterRef("id")))
    return (
        scope.sync_events()
        .filter(record_type__in=RECORD_KINDS, target_system__kind=SystemKind.ERP, outcome=Outcome.SUCCEEDED)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .filter(~Exists(earlier))
        .annotate(touched=touched(scope))
    )


def touched(scope):
    """Annotation: the record (source system, record type and external id) has an exception in the workspace."""
    return Exists(
        ExceptionItem.objects.for_workspace(scope.workspace).filter(
            source_system_id=OuterRef("source_system_id"),
            record_type=OuterRef("record_type"),
            external_id=OuterRef("external_id"),
        )
    )


def arrival_counts(scope):
    """The period's first arrivals counted per ERP system, record kind, local day and whether touched: the
    rolled-up days from ``FirstArrival``, the others (today, at least) live. The figures are the same either way.
    """
    done = rolled_up_days(scope)
    keys = ("target_system_id", "record_type", "day", "touched")
    named = {"system_name": F("target_system__name")}
    rows = []
    if done:
        rolled = scope.rows(FirstArrival).filter(day__in=done).annotate(touched=touched(scope))
        rows += rolled.values(*keys, **named).annotate(records=Count("id")).order_by()
    missing = [d for d in scope.each_day() if d not in done]
    if missing:
        live = first_arrivals(scope.with_period(missing[0], missing[-1])).annotate(
            day=TruncDate("occurred_at", tzinfo=scope.tz)
        )
        rows += [
            row
            for row in live.values(*keys, **named).annotate(records=Count("id")).order_by()
            if row["day"] not in done
        ]
    return rows


def straight_through(scope):
    """The share of the period's time entries and invoices that reached the ERP with no person touching them.

    The period's records: each time entry or invoice (source system, record
    type and external id) whose first succeeded sync event to an ERP system
    occurred in the period, counted once per ERP; its day is the local day of
    that event, so every record counts in exactly one period. Touched: the
    record has an exception of any kind in the workspace, open or resolved,
    before or after it reached the ERP (same source system, record type and
    external id). A replay, with or without an edited payload, always belongs
    to an exception, so a replayed record is touched through its exception.
    Per ERP system, per record kind, and per day of the period.
    """

    return straight_throughs(scope)[0]


def straight_throughs(*scopes):
    """``straight_through`` of each of ``scopes``, which differ in their (non-overlapping) periods only.

    The arrivals of the periods' span are counted once, by day, and each period adds up its own days: a
    dashboard's period and the one before it cost one read of the roll-up.
    """
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    rows = arrival_counts(span)
    return [_shares(scope, [row for row in rows if scope.start <= row["day"] <= scope.end]) for scope in scopes]


def _shares(scope, rows):
    """The straight-through figures of ``scope`` from its rows of ``arrival_counts``."""

    def tally():
        return {"records": 0, "straight": 0}

    total, systems, days = tally(), {}, {d: tally() | {"day": d} for d in scope.each_day()}
    for row in rows:
        system = systems.setdefault(
            row["target_system_id"],
            {"system_id": row["target_system_id"], "system": row["system_name"], **tally(), "_kinds": {}},
        )
        kind = system["_kinds"].setdefault(
            row["record_type"], {"kind": row["record_type"], "label": RECORD_KINDS[row["record_type"]], **tally()}
        )
        for counts in (total, system, kind, days[row["day"]]):
            counts["records"] += row["records"]
            counts["straight"] += 0 if row["touched"] else row["records"]

    def with_share(counts):
        return counts | {"share": share(counts["straight"], counts["records"])}

    by_system = []
    for system in sorted(systems.values(), key=lambda s: (s["system"], s["system_id"])):
        kinds = [with_share(k) for kind, k in sorted(system.pop("_kinds").items())]
        by_system.append(with_share(system) | {"kinds": kinds})
    return with_share(total) | {"systems": by_system, "days": [with_share(d) for d in days.values()]}
