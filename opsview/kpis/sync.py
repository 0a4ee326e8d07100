"""Sync health: how many record events the integration jobs got through.

Counts add up, so a period's figures are the daily roll-up's counts for the
days it has (opsview.kpis.rollups) plus a live count of the days it has not
(usually only today): exact either way, and cheap at millions of events.
"""

from datetime import timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from opsview.kpis.daily import rolled_up
from opsview.kpis.models import DailySync
from opsview.kpis.scope import Scope, default_period
from opsview.telemetry.models import Outcome

COUNTED = (Outcome.SUCCEEDED.value, Outcome.FAILED.value)
RECENT_DAYS = 7


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


def counts_by_day(scope):
    """Succeeded and failed events per target system, flow and local day: rolled-up days, then the rest live."""
    done = rolled_up(scope)["days"]
    rolled = scope.rows(DailySync).filter(day__in=done)
    if scope.system:
        rolled = rolled.filter(Q(source_system_id=scope.system) | Q(target_system_id=scope.system))
    rows = list(
        rolled.values("day", "target_system_id", "flow", system_name=F("target_system__name")).annotate(
            succeeded=Sum("succeeded"), failed=Sum("failed")
        )
    )
    missing = [
        scope.start + timedelta(days=n) for n in range(scope.days) if scope.start + timedelta(days=n) not in done
    ]
    if missing:
        live = sync_events_behind(scope.with_period(missing[0], missing[-1]))
        rows += [
            row
            for row in live.annotate(day=TruncDate("occurred_at", tzinfo=scope.tz))
            .values("day", "target_system_id", system_name=F("target_system__name"), flow=F("run__flow"))
            .annotate(
                succeeded=Count("id", filter=Q(outcome=Outcome.SUCCEEDED)),
                failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
            )
            .order_by()
            if row["day"] not in done
        ]
    for row in rows:
        row["flow"] = row["flow"] or ""
    return sorted(rows, key=lambda r: (r["system_name"], r["day"], r["flow"]))


def sync_success_totals(scope):
    """Succeeded ÷ (succeeded + failed) record events over the whole period: the headline of the sync success rate."""
    rows = counts_by_day(scope)
    counts = {"succeeded": sum(r["succeeded"] for r in rows), "failed": sum(r["failed"] for r in rows)}
    return counts | {"rate": success_rate(**counts)}


def recent_sync_totals(workspace, user, now=None, days=RECENT_DAYS):
    """The sync success totals of the last ``days`` calendar days, today included, in the workspace's time zone.

    The overview's and the portfolio's sync figure: the same days the
    dashboards and the KPI API count for that period, so they agree.
    """
    start, end = default_period(workspace, now)
    scope = Scope(workspace=workspace, start=end - timedelta(days=days - 1), end=end, user=user, now=now)
    return sync_success_totals(scope)


def sync_success_rate(scope):
    """Succeeded ÷ (succeeded + failed) record events, per system, flow and day.

    The system is the target the record was sent to, the flow the job's name,
    the day the local calendar day the event occurred; skipped events do not
    count. Client, project and manager filters do not apply to sync events.
    """
    return sync_success_rates(scope)[0]


def sync_success_rates(*scopes):
    """``sync_success_rate`` of each of ``scopes``, which differ in their (non-overlapping) periods only: the
    counts of the periods' span are read once and each period adds up its own days."""
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    rows = counts_by_day(span)
    return [_rates([row for row in rows if scope.start <= row["day"] <= scope.end]) for scope in scopes]


def _rates(rows):
    """The sync success figures of one period from its rows of ``counts_by_day``."""
    systems, flat = {}, []
    total = {"succeeded": 0, "failed": 0}
    for row in rows:
        counts = {"succeeded": row["succeeded"], "failed": row["failed"]}
        system = systems.setdefault(
            row["target_system_id"],
            {"system_id": row["target_system_id"], "system": row["system_name"], "succeeded": 0, "failed": 0}
            | {"_days": {}},
        )
        day = system["_days"].setdefault(row["day"], {"day": row["day"], "succeeded": 0, "failed": 0})
        for tally in (system, day, total):
            tally["succeeded"] += counts["succeeded"]
            tally["failed"] += counts["failed"]
        flat.append(
            {"system_id": row["target_system_id"], "system": row["system_name"], "flow": row["flow"]}
            | {"day": row["day"], **counts, "rate": success_rate(**counts)}
        )
    by_system = []
    for system in systems.values():
        days = sorted(system.pop("_days").values(), key=lambda d: d["day"])
        by_system.append(
            system
            | {"rate": success_rate(system["succeeded"], system["failed"])}
            | {"days": [d | {"rate": success_rate(d["succeeded"], d["failed"])} for d in days]}
        )
    return {**total, "rate": success_rate(**total), "systems": by_system, "rows": flat}


# Under this success rate over the last day a firm's integrations count as failing on the portfolio.
HEALTHY_RATE = 0.95
LAST_DAY_HOURS = 24


def last_day_sync_by_workspace(scopes, hours=LAST_DAY_HOURS):
    """Succeeded ÷ (succeeded + failed) record events of the last ``hours`` hours (a rolling window, not calendar
    days), for each workspace of ``scopes`` (a ``Scopes``) in one query: ``{workspace_id: {succeeded, failed,
    rate, failing}}``; a workspace with no counted event is absent.

    The same events the sync success rate counts (skipped never do); ``failing`` is a rate under HEALTHY_RATE.
    """
    now = scopes.current_time
    events = scopes.sync_events().filter(
        occurred_at__gt=now - timedelta(hours=hours), occurred_at__lte=now, outcome__in=COUNTED
    )
    # Outcomes counted, not ids: the events-by-time index holds each event's outcome, so the day of every firm
    # is read from the index alone.
    rows = (
        events.order_by()
        .values("workspace_id")
        .annotate(
            succeeded=Count("outcome", filter=Q(outcome=Outcome.SUCCEEDED)),
            failed=Count("outcome", filter=Q(outcome=Outcome.FAILED)),
        )
    )
    found = {}
    for row in rows:
        rate = success_rate(row["succeeded"], row["failed"])
        found[row["workspace_id"]] = {
            "succeeded": row["succeeded"],
            "failed": row["failed"],
            "rate": rate,
            "failing": rate is not None and rate < HEALTHY_RATE,
        }
    return found
