"""The list of KPIs: a slug for URLs, a title, and the function that defines it.

The API routes, the dashboards' help texts and the CSV export all read this
list, so a KPI added here shows up everywhere with the same definition.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from opsview.kpis.approval import unapproved_time_aging
from opsview.kpis.billing import billing_lag, dso, time_to_post
from opsview.kpis.capacity import utilization
from opsview.kpis.exceptions import (
    exception_money_at_stake,
    exception_resolution_time,
    exception_volume,
    items_past_sla,
)
from opsview.kpis.sync import sync_success_rate
from opsview.kpis.wip import invoice_ready_backlog, unbilled_wip_trend, worst_unbilled_clients, worst_unbilled_projects


def definition(function):
    """The first paragraph of ``function``'s docstring, on one line: the KPI's definition."""
    return " ".join(inspect.getdoc(function).split("\n\n")[0].split())


@dataclass(frozen=True)
class Kpi:
    slug: str
    title: str
    compute: Callable

    @property
    def definition(self):
        return definition(self.compute)


CATALOG = (
    Kpi("unapproved-time-aging", "Unapproved time aging", unapproved_time_aging),
    Kpi("invoice-ready-backlog", "Invoice-ready backlog (unbilled WIP)", invoice_ready_backlog),
    Kpi("unbilled-wip-trend", "Unbilled WIP over time", unbilled_wip_trend),
    Kpi("worst-unbilled-clients", "Clients with the most unbilled value", worst_unbilled_clients),
    Kpi("worst-unbilled-projects", "Projects with the most unbilled value", worst_unbilled_projects),
    Kpi("billing-lag", "Billing lag", billing_lag),
    Kpi("time-to-post", "Time to post", time_to_post),
    Kpi("sync-success-rate", "Sync success rate", sync_success_rate),
    Kpi("exception-volume", "Exception volume", exception_volume),
    Kpi("exception-resolution-time", "Exception resolution time", exception_resolution_time),
    Kpi("items-past-sla", "Items past SLA", items_past_sla),
    Kpi("money-at-stake", "Money at stake in open exceptions", exception_money_at_stake),
    Kpi("dso", "DSO (days sales outstanding)", dso),
    Kpi("utilization", "Utilization", utilization),
)
BY_SLUG = {kpi.slug: kpi for kpi in CATALOG}
