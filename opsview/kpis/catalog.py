"""The KPI registry: one entry per KPI, and everything that shows it reads the entry.

An entry says, once, for its slug: the title, the function that defines the
KPI (the first paragraph of its docstring is the definition every help text
shows), the serializer that gives its JSON shape in the KPI API and the
OpenAPI schema, and the key of the dashboard chart that draws it, if any (also
the name of the chart's CSV export, ``<key>.csv``).

The charts themselves are drawn by the dashboards, a higher layer this module
must not import. So the dashboards register each chart builder on the entry
that names its key (``@draws("aging")`` in ``opsview.dashboards.charts``) and
callers ask the entry for its chart (``kpi.chart_of(scope)``): the entry stays
the one table keyed by slug, and no import goes upwards.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from rest_framework.serializers import Serializer

from opsview.kpis import serializers as shapes
from opsview.kpis.approval import unapproved_time_aging
from opsview.kpis.billing import billing_lag, dso, time_to_post
from opsview.kpis.capacity import utilization
from opsview.kpis.exceptions import (
    exception_money_at_stake,
    exception_resolution_time,
    exception_volume,
    items_past_sla,
)
from opsview.kpis.reconciled import reconciled_share
from opsview.kpis.straight_through import straight_through
from opsview.kpis.sync import sync_success_rate
from opsview.kpis.wip import invoice_ready_backlog, unbilled_wip_trend, worst_unbilled_clients, worst_unbilled_projects


def definition(function):
    """The first paragraph of ``function``'s docstring, on one line: the KPI's definition."""
    return " ".join(inspect.getdoc(function).split("\n\n")[0].split())


@dataclass
class Kpi:
    """One KPI: its slug (in URLs), title, defining function, JSON shape and chart.

    ``many`` says whether the function returns a list of ``serializer`` rows;
    ``chart`` is the key of the dashboard chart that draws this KPI, "" for none.
    """

    slug: str
    title: str
    compute: Callable
    serializer: type[Serializer]
    many: bool = False
    chart: str = ""
    # The chart builder, ``draw(kpi, scope, result)``, registered by the dashboards through ``draws``.
    draw: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def definition(self):
        return definition(self.compute)

    def chart_of(self, scope, result=None):
        """This KPI's chart for ``scope``: of ``result`` when the caller has computed it already."""
        if self.draw is None:
            raise LookupError(f"No chart builder is registered for the KPI {self.slug!r}.")
        return self.draw(self, scope, self.compute(scope) if result is None else result)


CATALOG = (
    Kpi(
        "unapproved-time-aging",
        "Unapproved time aging",
        unapproved_time_aging,
        shapes.UnapprovedTimeAging,
        chart="aging",
    ),
    Kpi(
        "invoice-ready-backlog",
        "Invoice-ready backlog (unbilled WIP)",
        invoice_ready_backlog,
        shapes.InvoiceReadyBacklog,
    ),
    Kpi("unbilled-wip-trend", "Unbilled WIP over time", unbilled_wip_trend, shapes.UnbilledWipTrend, chart="wip-trend"),
    Kpi(
        "worst-unbilled-clients",
        "Clients with the most unbilled value",
        worst_unbilled_clients,
        shapes.WorstUnbilled,
        many=True,
        chart="worst-clients",
    ),
    Kpi(
        "worst-unbilled-projects",
        "Projects with the most unbilled value",
        worst_unbilled_projects,
        shapes.WorstUnbilled,
        many=True,
        chart="worst-projects",
    ),
    Kpi("billing-lag", "Billing lag", billing_lag, shapes.BillingLag, chart="billing-lag"),
    Kpi("time-to-post", "Time to post", time_to_post, shapes.TimeToPost),
    Kpi("sync-success-rate", "Sync success rate", sync_success_rate, shapes.SyncSuccessRate, chart="sync"),
    Kpi(
        "straight-through",
        "Straight-through processing",
        straight_through,
        shapes.StraightThrough,
        chart="straight-through",
    ),
    Kpi("reconciled-share", "Reconciled share", reconciled_share, shapes.ReconciledShare),
    Kpi("exception-volume", "Exception volume", exception_volume, shapes.ExceptionVolume, chart="exceptions"),
    Kpi(
        "exception-resolution-time",
        "Exception resolution time",
        exception_resolution_time,
        shapes.ExceptionResolutionTime,
    ),
    Kpi("items-past-sla", "Items past SLA", items_past_sla, shapes.ItemsPastSla),
    Kpi("money-at-stake", "Money at stake in open exceptions", exception_money_at_stake, shapes.MoneyAtStake),
    Kpi("dso", "DSO (days sales outstanding)", dso, shapes.Dso, many=True),
    Kpi("utilization", "Utilization", utilization, shapes.Utilization),
)
BY_SLUG = {kpi.slug: kpi for kpi in CATALOG}
BY_CHART = {kpi.chart: kpi for kpi in CATALOG if kpi.chart}


def draws(chart):
    """Decorator: register the decorated ``draw(kpi, scope, result)`` as the builder of the chart keyed ``chart``."""

    def register(builder):
        BY_CHART[chart].draw = builder
        return builder

    return register
