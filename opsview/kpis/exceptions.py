"""Exception volume, resolution time, items past SLA and money at stake, read from the exception queues.

The queues (``opsview.queues``, a lower layer) own the exception items and the
rules about them: which items are past SLA (``past_sla``) and how money at
stake counts (``money_at_stake``). These KPIs count those items for a scope.
"""

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from opsview.kpis.expressions import ElapsedDays, rounded
from opsview.kpis.percentiles import percentiles
from opsview.kpis.scope import Scopes
from opsview.queues.models import ExceptionItem, Status
from opsview.queues.money import money_at_stake, money_at_stake_by_workspace
from opsview.queues.stakes import kept_money_at_stake_by_workspace
from opsview.workspaces.scoping import seen_whole


def exception_items(scope):
    """The scope's exception items, narrowed by its client, project, manager and system filters.

    ``scope`` may be a ``Scopes`` (several workspaces): their items, unfiltered.
    """
    return scope.narrow(
        scope.rows(ExceptionItem),
        client="client_id",
        project="project_id",
        manager="project__manager_id",
        system="system_id",
    )


def exception_volume(scope):
    """Open, new and resolved exceptions per day.

    New: first seen that local day; resolved: resolved that day; open: first
    seen by the end of the day and not resolved by then. An exception opened by
    a backfill is first seen when its data first showed it, so a backfill does
    not add a day of "new" exceptions.
    """
    return exception_volumes(scope)[0]


def exception_volumes(*scopes):
    """``exception_volume`` of each of ``scopes``, which differ in their periods only: new and resolved per day
    are counted once over the periods' span, and the items open at each period's start in one query."""
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    items = exception_items(span)

    def per_day(name):
        in_period = items.filter(**{f"{name}__gte": span.start_at, f"{name}__lt": span.end_at})
        by_day = in_period.annotate(day=TruncDate(name, tzinfo=span.tz)).values("day").annotate(n=Count("id"))
        return {row["day"]: row["n"] for row in by_day.order_by()}

    def open_at_start(scope):
        still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gte=scope.start_at)
        return Count("id", filter=still_open & Q(first_seen_at__lt=scope.start_at))

    new, done = per_day("first_seen_at"), per_day("resolved_at")
    opened = items.aggregate(**{f"p{i}": open_at_start(scope) for i, scope in enumerate(scopes)})
    results = []
    for i, scope in enumerate(scopes):
        open_count = opened[f"p{i}"]
        days = []
        for day in scope.each_day():
            open_count += new.get(day, 0) - done.get(day, 0)
            days.append({"day": day, "new": new.get(day, 0), "resolved": done.get(day, 0), "open": open_count})
        counted = {"new": sum(d["new"] for d in days), "resolved": sum(d["resolved"] for d in days)}
        results.append(counted | {"open_at_end": open_count, "days": days})
    return results


def exception_resolution_time(scope):
    """Median and 90th percentile time from first seen to resolved, in hours, of exceptions resolved in the period."""
    resolved = exception_items(scope).filter(resolved_at__gte=scope.start_at, resolved_at__lt=scope.end_at)
    elapsed_hours = ElapsedDays(F("resolved_at"), F("first_seen_at")) * 24
    stats, counted = percentiles(resolved, elapsed_hours, also={"resolved": Count("id")})
    return {"resolved": counted["resolved"], "median_hours": rounded(stats[0.5]), "p90_hours": rounded(stats[0.9])}


def _late(scope):
    return exception_items(scope).past_sla(scope.current_time)


def items_past_sla(scope):
    """Open exceptions whose SLA deadline has passed, now, per kind."""
    late = _late(scope)
    kinds = late.values("kind").annotate(items=Count("id")).order_by("-items", "kind")
    by_kind = [{"kind": row["kind"], "items": row["items"]} for row in kinds]
    return {"items": sum(k["items"] for k in by_kind), "by_kind": by_kind}


def exception_money_at_stake(scope):
    """Money at stake in open exceptions, now: the value of each record that has at least one open exception
    (time at its bill rate, an invoice's amount), counted once however many open exceptions the record has,
    per currency; with the number of those records and of the open exceptions.
    """
    return money_at_stake(exception_items(scope).filter(status=Status.OPEN))


def items_past_sla_by_workspace(scopes):
    """``items_past_sla``'s count for each workspace of ``scopes`` (a ``Scopes``), in one query: ``{id: items}``."""
    # COUNT(*): every firm's late items are then counted from the SLA index alone.
    rows = _late(scopes).order_by().values("workspace_id").annotate(items=Count("*"))
    return {row["workspace_id"]: row["items"] for row in rows}


def exception_money_at_stake_by_workspace(scopes):
    """``exception_money_at_stake`` for each workspace of ``scopes`` (a ``Scopes``): ``{workspace_id: stake}``;
    a workspace with no open exception is absent. Currencies are never added.

    Where the user sees every exception of a firm, its records' money is read as kept per record
    (``queues.stakes``): one query for all those firms. A manager's share of a firm is counted live.
    """
    whole = set(seen_whole(scopes.user, scopes.workspace_ids))
    stakes = kept_money_at_stake_by_workspace(whole)
    narrowed = Scopes(tuple(scope for scope in scopes.scopes if scope.workspace.pk not in whole))
    if narrowed.scopes:
        stakes |= money_at_stake_by_workspace(exception_items(narrowed).filter(status=Status.OPEN))
    return stakes
