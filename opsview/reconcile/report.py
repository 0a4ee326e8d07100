"""What the reconciliation page and its CSV show of a period: the last run's balances and gaps, as the user
may see them (a manager their projects only)."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count

from opsview.reconcile.causes import BY_CODE, CAUSES
from opsview.reconcile.models import Gap, ProjectBalance, ReconciliationRun, RunState, active_runs
from opsview.workspaces.permissions import ACT, can, role_of
from opsview.workspaces.roles import Role

HOUR_FIELDS = (
    "approved_hours",
    "billable_hours",
    "erp_hours",
    "invoiced_hours",
    "transit_hours",
    "known_hours",
    "reconciled_hours",
)
PERIODS_SHOWN = 6


@dataclass
class Report:
    period: object
    run: object = None
    active: object = None
    rows: list = field(default_factory=list)  # project balances, each with .gaps
    invoice_gaps: list = field(default_factory=list)
    run_gaps: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    money: list = field(default_factory=list)  # (currency, amount)
    unreported: list = field(default_factory=list)
    can_run: bool = False
    is_manager: bool = False
    periods: list = field(default_factory=list)
    causes: tuple = CAUSES

    @property
    def is_empty(self):
        return not (self.rows or self.invoice_gaps or self.run_gaps)

    @property
    def reconciled_share(self):
        approved = self.totals.get("approved_hours") or Decimal(0)
        if not approved:
            return None
        return (self.totals["reconciled_hours"] / approved * 100).quantize(Decimal("0.1"))


def report_for(user, workspace, period):
    runs = ReconciliationRun.objects.visible_to(user, workspace).filter(period=period.label)
    report = Report(
        period=period,
        run=runs.filter(status=RunState.SUCCEEDED).order_by("-finished_at", "-id").first(),
        active=active_runs(runs).order_by("-requested_at").first(),
        can_run=can(user, workspace, ACT),
        is_manager=role_of(user, workspace) == Role.MANAGER,
        periods=_periods(user, workspace, period),
    )
    if report.run is None:
        return report
    report.unreported = report.run.unreported
    gaps = list(
        Gap.objects.visible_to(user, workspace)
        .filter(last_run=report.run)
        .select_related("exception", "project")
        .order_by("-money_at_stake", "cause", "id")
    )
    by_project = defaultdict(list)
    for gap in gaps:
        gap.cause_info = BY_CODE[gap.cause]
        if gap.cause_info.track == "time":
            by_project[gap.project_id].append(gap)
        elif gap.cause_info.track == "invoice":
            report.invoice_gaps.append(gap)
        else:
            report.run_gaps.append(gap)
    rows = list(
        ProjectBalance.objects.visible_to(user, workspace).filter(run=report.run).select_related("project__client")
    )
    for row in rows:
        row.gaps = by_project.get(row.project_id, [])
    rows.sort(key=lambda r: (-r.gap_count, -r.money_at_stake, r.project.code if r.project else "~"))
    report.rows = rows
    report.totals = {f: sum((getattr(r, f) for r in rows), Decimal(0)) for f in HOUR_FIELDS}
    report.totals["gaps"] = len(gaps)
    money = defaultdict(Decimal)
    for gap in gaps:
        if gap.money_at_stake:  # a run's lost records hold no known money
            money[gap.currency] += gap.money_at_stake
    report.money = sorted(money.items(), key=lambda kv: -kv[1])
    return report


def _periods(user, workspace, period):
    """The months before ``period``, each with the gaps its last run left open as this user sees them (None:
    never reconciled), so the way to a month with gaps is in view."""
    shown, current = [], period
    for _ in range(PERIODS_SHOWN):
        current = current.previous()
        shown.append(current)
    runs = (
        ReconciliationRun.objects.visible_to(user, workspace)
        .filter(period__in=[p.label for p in shown], status=RunState.SUCCEEDED)
        .order_by("period", "-finished_at", "-id")
        .values_list("period", "pk")
    )
    last = {}
    for label, pk in runs:
        last.setdefault(label, pk)
    gaps = dict(
        Gap.objects.visible_to(user, workspace)
        .filter(last_run__in=last.values())
        .order_by()
        .values_list("last_run")
        .annotate(n=Count("id"))
    )
    return [PeriodLink(p, gaps.get(last[p.label], 0) if p.label in last else None) for p in shown]


@dataclass(frozen=True)
class PeriodLink:
    period: object
    gaps: int | None

    @property
    def label(self):
        return self.period.label


CSV_HEADER = (
    "period",
    "section",
    "project or record",
    "client",
    "approved hours",
    "billable hours",
    "in ERP hours",
    "invoiced hours",
    "in transit hours",
    "known in queue hours",
    "causes",
    "source side",
    "target side",
    "gaps",
    "money at stake",
    "currency",
    "exceptions",
)


def _side(label, count, hours, amount, currency):
    parts = [f"{label}: {count}"]
    if hours is not None:
        parts.append(f"{hours} h")
    if amount is not None:
        parts.append(f"{amount} {currency}".strip())
    return ", ".join(parts)


def csv_rows(report):
    """The page's table as CSV rows, header first: projects (mismatches first), then invoice and run gaps."""
    yield CSV_HEADER
    label = report.period.label
    for row in report.rows:
        project = row.project
        name = str(project) if project else "unknown project"
        client = project.client.name if project else ""
        causes = "; ".join(g.cause_info.label for g in row.gaps)
        ids = " ".join(str(g.exception_id) for g in row.gaps)
        hours = [getattr(row, f) for f in HOUR_FIELDS[:-1]]
        yield (
            label,
            "project",
            name,
            client,
            *hours,
            causes,
            "",
            "",
            row.gap_count,
            row.money_at_stake,
            row.currency,
            ids,
        )
    for gap in report.invoice_gaps + report.run_gaps:
        source = _side(gap.source_label, gap.source_count, gap.source_hours, gap.source_amount, gap.currency)
        target = _side(gap.target_label, gap.target_count, gap.target_hours, gap.target_amount, gap.currency)
        section = "invoice" if gap.cause_info.track == "invoice" else "sync run"
        client = gap.exception.client.name if gap.exception.client_id else ""
        blanks = ("",) * 6
        yield (
            label,
            section,
            gap.exception.title,
            client,
            *blanks,
            gap.cause_info.label,
            source,
            target,
            1,
            gap.money_at_stake,
            gap.currency,
            str(gap.exception_id),
        )
