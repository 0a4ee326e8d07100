"""Straight-through processing: the records that reached the ERP without a person touching them."""

from django.db.models import Exists, F, Min, OuterRef
from django.utils import timezone

from opsview.queues.models import ExceptionItem
from opsview.systems.models import SystemKind
from opsview.telemetry.models import Outcome, SyncEvent

# The record kinds counted, as sync events name them, with the words the KPI shows.
RECORD_KINDS = {"time_entry": "Time entry", "invoice": "Invoice"}


def share(straight, records):
    """straight ÷ records, or None when there was nothing to count."""
    return None if records == 0 else round(straight / records, 4)


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
    touched = ExceptionItem.objects.for_workspace(scope.workspace).filter(
        source_system_id=OuterRef("source_system_id"),
        record_type=OuterRef("record_type"),
        external_id=OuterRef("external_id"),
    )
    reached = scope.sync_events().filter(
        record_type__in=RECORD_KINDS, target_system__kind=SystemKind.ERP, outcome=Outcome.SUCCEEDED
    )
    # Reached before the period: counted in an earlier one.
    earlier = SyncEvent.objects.filter(
        workspace=scope.workspace,
        record_type=OuterRef("record_type"),
        external_id=OuterRef("external_id"),
        source_system_id=OuterRef("source_system_id"),
        target_system_id=OuterRef("target_system_id"),
        outcome=Outcome.SUCCEEDED,
        occurred_at__lt=scope.start_at,
    )
    records = (
        reached.filter(occurred_at__gte=scope.start_at, occurred_at__lt=scope.end_at)
        .filter(~Exists(earlier))
        .values("source_system_id", "record_type", "external_id", "target_system_id")
        .annotate(first_at=Min("occurred_at"), system_name=F("target_system__name"))
        .annotate(touched=Exists(touched))
        .order_by()
    )

    def tally():
        return {"records": 0, "straight": 0}

    total, systems, days = tally(), {}, {d: tally() | {"day": d} for d in scope.each_day()}
    for row in records:
        system = systems.setdefault(
            row["target_system_id"],
            {"system_id": row["target_system_id"], "system": row["system_name"], **tally(), "_kinds": {}},
        )
        kind = system["_kinds"].setdefault(
            row["record_type"], {"kind": row["record_type"], "label": RECORD_KINDS[row["record_type"]], **tally()}
        )
        day = days[timezone.localtime(row["first_at"], scope.tz).date()]
        for counts in (total, system, kind, day):
            counts["records"] += 1
            counts["straight"] += not row["touched"]

    def with_share(counts):
        return counts | {"share": share(counts["straight"], counts["records"])}

    by_system = []
    for system in sorted(systems.values(), key=lambda s: (s["system"], s["system_id"])):
        kinds = [with_share(k) for kind, k in sorted(system.pop("_kinds").items())]
        by_system.append(with_share(system) | {"kinds": kinds})
    return with_share(total) | {"systems": by_system, "days": [with_share(d) for d in days.values()]}
