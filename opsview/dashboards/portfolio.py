"""The partner portfolio: one tile per workspace of the user, worst first."""

from dataclasses import dataclass

from django.utils import timezone

from opsview.dashboards import charts
from opsview.kpis.exceptions import exception_volume, items_past_sla
from opsview.kpis.scope import Scope, default_period
from opsview.kpis.sync import recent_sync_totals
from opsview.kpis.wip import invoice_ready_backlog, unbilled_wip_trend
from opsview.workspaces.theme import DEFAULT_ACCENT

TREND_DAYS = 30


@dataclass
class WorkspaceTile:
    workspace: object
    role: str
    sync: dict
    unbilled: dict
    trend: dict
    open_exceptions: int
    past_sla: int

    @property
    def worst_first(self):
        """Sort key: most items past SLA, then lowest sync success, then most unbilled hours."""
        rate = self.sync["rate"]
        return (-self.past_sla, 1.0 if rate is None else rate, -self.unbilled["hours"], self.workspace.name)


def workspace_tile(user, membership, now=None):
    workspace = membership.workspace
    now = now or timezone.now()
    start, end = default_period(workspace, now)
    scope = Scope(workspace=workspace, start=start, end=end, user=user, now=now)
    sync = recent_sync_totals(workspace, user, now)
    trend = unbilled_wip_trend(scope)
    # The newest rolled-up day, as the sparkline ends; live only where nothing is rolled up yet.
    backlog = trend["points"][-1] if trend["points"] else invoice_ready_backlog(scope)["total"]
    return WorkspaceTile(
        workspace=workspace,
        role=membership.get_role_display(),
        sync=sync,
        unbilled=backlog,
        trend=charts.sparkline(trend["points"], workspace_accent(workspace)),
        open_exceptions=exception_volume(scope)["open_at_end"],
        past_sla=items_past_sla(scope)["items"],
    )


def workspace_accent(workspace):
    return getattr(workspace, "accent_color", "") or DEFAULT_ACCENT


def portfolio_tiles(user, memberships, now=None):
    """A tile per workspace the user belongs to, sorted worst first (see ``WorkspaceTile.worst_first``)."""
    tiles = [workspace_tile(user, membership, now) for membership in memberships]
    return sorted(tiles, key=lambda t: t.worst_first)
