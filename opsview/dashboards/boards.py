"""What each dashboard shows: its tiles and charts, assembled from the KPI functions for one scope.

The charts are the catalog entries' (``opsview.kpis.catalog``), whose builders
``opsview.dashboards.charts`` registers when the app loads.
"""

from dataclasses import dataclass
from decimal import Decimal

from opsview.common.numbers import format_money
from opsview.dashboards import drilldown
from opsview.kpis.approval import unapproved_hours, unapproved_time_aging
from opsview.kpis.billing import billing_lags, dsos, time_to_posts
from opsview.kpis.capacity import utilizations
from opsview.kpis.catalog import BY_SLUG
from opsview.kpis.exceptions import exception_money_at_stake, exception_volumes, items_past_sla
from opsview.kpis.reconciled import reconciled_shares
from opsview.kpis.straight_through import straight_throughs
from opsview.kpis.sync import sync_success_rates
from opsview.kpis.wip import backlog_breakdown, invoice_ready_backlog, invoice_ready_total, worst_unbilled
from opsview.queues.money import stake_money


@dataclass
class Tile:
    label: str
    value: str
    help: str
    previous: str | None = None
    change: str | None = None
    verdict: str = ""  # "better", "worse" or "" (no change, or no judgement)
    link: str | None = None


def fmt(value, unit=""):
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if isinstance(value, Decimal) and len(unit) == 3 and unit.isupper():
        return format_money(value, unit)  # a currency code: the one money format
    if isinstance(value, Decimal):
        text = f"{value:,.2f}"
    else:
        text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def tile(label, kpi, now, before, unit="", lower_is_better=True, link=None):
    """A tile showing ``now`` and its change from ``before`` (the previous period)."""
    result = Tile(label, fmt(now, unit), BY_SLUG[kpi].definition, previous=fmt(before, unit), link=link)
    if now is None or before is None:
        return result
    delta = now - before
    if unit == "%":
        result.change = f"{delta * 100:+.1f} pts"
    else:
        result.change = f"{'+' if delta >= 0 else '−'}{fmt(abs(delta), unit)}"
    if delta:
        result.verdict = "better" if (delta < 0) == lower_is_better else "worse"
    return result


def money_by_currency(money):
    return {m["currency"]: m["amount"] for m in money}


def executive_board(scope):
    """Tiles with the change against the previous period, and the executive charts."""
    previous = scope.previous()
    aging = unapproved_time_aging(scope)
    breakdown = backlog_breakdown(scope)
    backlog, backlog_before = invoice_ready_backlog(scope, breakdown), invoice_ready_total(previous)
    lag, lag_before = billing_lags(scope, previous)
    posting, posting_before = time_to_posts(scope, previous)
    sync, sync_before = sync_success_rates(scope, previous)
    usage, usage_before = utilizations(scope, previous)
    untouched, untouched_before = straight_throughs(scope, previous)
    reconciled, reconciled_before = reconciled_shares(scope, previous)
    volume, volume_before = exception_volumes(scope, previous)
    receivables_now, receivables_before = dsos(scope, previous)
    receivables = {r["currency"]: r["dso_days"] for r in receivables_before}
    narrowed = {"project": scope.project, "client": scope.client}

    tiles = [
        tile(
            "Unapproved time",
            "unapproved-time-aging",
            aging["total"]["hours"],
            unapproved_hours(previous),
            "h",
            link=drilldown.time_entries(scope, status="unapproved"),
        ),
        tile(
            "Invoice-ready backlog",
            "invoice-ready-backlog",
            backlog["total"]["hours"],
            backlog_before["hours"],
            "h",
            link=drilldown.time_entries(scope, status="unbilled"),
        ),
    ]
    before = money_by_currency(backlog_before["value"])
    for currency, amount in money_by_currency(backlog["total"]["value"]).items():
        tiles.append(tile("Unbilled WIP", "invoice-ready-backlog", amount, before.get(currency), currency))
    tiles += [
        tile("Billing lag, median", "billing-lag", lag["median_days"], lag_before["median_days"], "days"),
        tile("Time to post, median", "time-to-post", posting["median_days"], posting_before["median_days"], "days"),
        tile(
            "Sync success rate",
            "sync-success-rate",
            sync["rate"],
            sync_before["rate"],
            "%",
            lower_is_better=False,
            link=drilldown.sync_events(scope, outcome="failed"),
        ),
        tile(
            "Straight-through processing",
            "straight-through",
            untouched["share"],
            untouched_before["share"],
            "%",
            lower_is_better=False,
            link=drilldown.first_arrivals(scope),
        ),
        tile(
            "Reconciled share",
            "reconciled-share",
            reconciled["share"],
            reconciled_before["share"],
            "%",
            lower_is_better=False,
            link=drilldown.time_entries(scope, status="unreconciled"),
        ),
        tile("Utilization", "utilization", usage["rate"], usage_before["rate"], "%", lower_is_better=False),
    ]
    for row in receivables_now:
        tiles.append(tile(f"DSO, {row['currency']}", "dso", row["dso_days"], receivables.get(row["currency"]), "days"))
    stake = exception_money_at_stake(scope)
    tiles += [
        tile(
            "Open exceptions",
            "exception-volume",
            volume["open_at_end"],
            volume_before["open_at_end"],
            link=drilldown.queue(status="open", **narrowed),
        ),
        Tile(
            "Items past SLA",
            fmt(items_past_sla(scope)["items"]),
            BY_SLUG["items-past-sla"].definition,
            link=drilldown.queue(status="open", past_sla=True, **narrowed),
        ),
        Tile(
            f"Money at stake: {stake['records']:,} records, {stake['exceptions']:,} open exceptions",
            stake_money(stake),
            BY_SLUG["money-at-stake"].definition,
            link=drilldown.queue(status="open", **narrowed),
        ),
    ]

    # The charts in the board's order, each drawn from the figures the tiles computed already.
    drawn = [
        ("unapproved-time-aging", aging),
        ("unbilled-wip-trend", None),
        ("billing-lag", lag),
        ("sync-success-rate", sync),
        ("straight-through", untouched),
        ("exception-volume", volume),
        ("worst-unbilled-clients", worst_unbilled(scope, "client", breakdown=breakdown)),
        ("worst-unbilled-projects", worst_unbilled(scope, "project", breakdown=breakdown)),
    ]
    return {
        "tiles": tiles,
        "charts": [BY_SLUG[slug].chart_of(scope, result) for slug, result in drawn],
        "rolled_up_at": posting["computed_at"],
    }
