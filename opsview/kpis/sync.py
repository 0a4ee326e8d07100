"""Sync health: how many record events the integration jobs got through."""

from datetime import timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from opsview.telemetry.models import Outcome

COUNTED = (Outcome.SUCCEEDED.value, Outcome.FAILED.value)


def success_rate(succeeded, failed):
    """succeeded ÷ (succeeded + failed), or None when there was nothing to count."""
    return None if succeeded + failed == 0 else round(succeeded / (succeeded + failed), 4)


def sync_events_behind(scope, system=None, day=None, outcome=None):
    """The record events a sync success figure counts: in the period (or on local ``day``), to ``system``.

    ``outcome`` narrows to succeeded or failed; without it both count, and
    skipped events never do.
    """
    start, end = scope.start_at, scope.end_at
    if day is not None:
        start, end = scope.midnight(day), scope.midnight(day + timedelta(days=1))
    events = scope.sync_events().filter(occurred_at__gte=start, occurred_at__lt=end)
    events = events.filter(outcome=outcome) if outcome else events.filter(outcome__in=COUNTED)
    return events.filter(target_system_id=system) if system else events


def sync_success_totals(scope):
    """Succeeded ÷ (succeeded + failed) record events over the whole period: the headline of the sync success rate."""
    counts = sync_events_behind(scope).aggregate(
        succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)), failed=Count("id", filter=Q(outcome=Outcome.FAILED))
    )
    return counts | {"rate": success_rate(**counts)}


def sync_success_rate(scope):
    """Succeeded ÷ (succeeded + failed) record events, per system, flow and day.

    The system is the target the record was sent to, the flow the job's name,
    the day the local calendar day the event occurred; skipped events do not
    count. Client, project and manager filters do not apply to sync events.
    """
    rows = (
        sync_events_behind(scope)
        .annotate(day=TruncDate("occurred_at", tzinfo=scope.tz))
        .values("target_system_id", "target_system__name", "run__flow", "day")
        .annotate(
            succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
            failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        )
        .order_by("target_system__name", "day", F("run__flow").asc(nulls_first=True))
    )
    systems, flat = {}, []
    total = {"succeeded": 0, "failed": 0}
    for row in rows:
        counts = {"succeeded": row["succeeded"], "failed": row["failed"]}
        system = systems.setdefault(
            row["target_system_id"],
            {"system_id": row["target_system_id"], "system": row["target_system__name"], "succeeded": 0, "failed": 0,
             "_days": {}},
        )  # fmt: skip
        day = system["_days"].setdefault(row["day"], {"day": row["day"], "succeeded": 0, "failed": 0})
        for tally in (system, day, total):
            tally["succeeded"] += counts["succeeded"]
            tally["failed"] += counts["failed"]
        flat.append(
            {"system_id": row["target_system_id"], "system": row["target_system__name"], "flow": row["run__flow"] or "",
             "day": row["day"], **counts, "rate": success_rate(**counts)}
        )  # fmt: skip
    by_system = []
    for system in systems.values():
        days = sorted(system.pop("_days").values(), key=lambda d: d["day"])
        by_system.append(
            system
            | {"rate": success_rate(system["succeeded"], system["failed"])}
            | {"days": [d | {"rate": success_rate(d["succeeded"], d["failed"])} for d in days]}
        )
    return {**total, "rate": success_rate(**total), "systems": by_system, "rows": flat}
