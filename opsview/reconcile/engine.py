"""The three-way comparison of one workspace's period: pure computation, no writes.

Set-based: each side of each record is read with the definitions of ``opsview.records.sides``, every record's
state is classified in SQL, and the database returns one row per (project, state) group plus one row per
mismatching record: only mismatches travel to Python, whatever the number of records that agree.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Sum
from django.utils import timezone

from opsview.reconcile import invoices
from opsview.reconcile.causes import BY_CODE
from opsview.reconcile.figures import GRACE, ZERO, Balance, Gap, Result, Side, dec, project_key
from opsview.reconcile.known import known_records
from opsview.records.models import Posting, Project, TimeEntry, TimeEntryStatus
from opsview.records.sides import TOLERANCE, postings_in
from opsview.systems.models import System, SystemKind

TIME_SOURCES = (SystemKind.TIME_TRACKING, SystemKind.PSA)


@dataclass
class Context:
    """What one run knows before comparing: the period, the moment, the systems and which sides ever reported."""

    workspace: object
    period: object
    now: object
    erp: list
    billing: list
    erp_time_reported: bool
    billing_time_reported: bool
    erp_invoices_reported: bool
    billing_invoices_reported: bool

    def names(self, systems, fallback):
        return " + ".join(s.name for s in systems) or fallback


def context(workspace, period, now=None):
    systems = list(System.objects.for_workspace(workspace).order_by("pk"))
    postings = Posting.objects.for_workspace(workspace)
    return Context(
        workspace=workspace,
        period=period,
        now=now or timezone.now(),
        erp=[s for s in systems if s.kind == SystemKind.ERP],
        billing=[s for s in systems if s.kind == SystemKind.BILLING],
        erp_time_reported=postings.filter(system__kind=SystemKind.ERP, record_type="time_entry").exists(),
        billing_time_reported=postings.filter(system__kind=SystemKind.BILLING, record_type="time_entry").exists(),
        erp_invoices_reported=postings.filter(system__kind=SystemKind.ERP, record_type="invoice").exists(),
        billing_invoices_reported=invoices.billing_invoices(workspace).exists(),
    )


def reconcile(workspace, period, now=None):
    """Compare time tracking, the ERP and billing over ``period`` (a ``Period``) in ``workspace``.

    Returns a ``Result``: ``gaps`` (each with its cause, key, records and money at stake, and both sides'
    figures) and ``projects`` (each project's three-way balance). Writes nothing.
    """
    ctx = context(workspace, period, now)
    result = Result(period=period, unreported=unreported(ctx))
    balances, time_gaps = time_side(ctx)
    invoice_gaps, invoice_totals = invoices.invoice_gaps(ctx)
    result.gaps = time_gaps + only_in_erp(ctx, balances) + invoice_gaps + invoices.run_gaps(ctx)
    for gap in result.gaps:
        # A gap with no money of its own (a run's lost records, time only the ERP holds) is counted in the
        # workspace's currency, so the queue's totals never show an amount without one.
        gap.currency = gap.currency or workspace.currency
    result.projects = sorted(balances.values(), key=lambda b: (-b.gap_count, -b.money_at_stake, b.project_id or 0))
    result.totals = {**totals(result), "invoices": invoice_totals}
    return result


def unreported(ctx):
    said = []
    erp, billing = ctx.names(ctx.erp, "No ERP"), ctx.names(ctx.billing, "No billing system")
    if not ctx.erp_time_reported:
        said.append(f"{erp} has reported no time postings yet: approved time is not compared with the ERP.")
    if not ctx.billing_time_reported:
        said.append(f"{billing} has reported no invoice lines yet: invoiced time is not compared with billing.")
    if not ctx.erp_invoices_reported:
        said.append(f"{erp} has reported no invoice postings yet: invoices are not compared with the ERP.")
    if not ctx.billing_invoices_reported:
        said.append(f"{billing} has reported no invoices yet: ERP invoice postings are not compared with billing.")
    return said


# Each entry beside its sides and the queue's knowledge of it: plain joins to grouped tables.
JOINED = """
SELECT e.*, erp.carried AS erp_h, inv.carried AS inv_h,
  CASE WHEN ke.external_id IS NULL THEN 0 ELSE 1 END AS known_erp,
  CASE WHEN kb.external_id IS NULL THEN 0 ELSE 1 END AS known_bill
FROM ({}) e
LEFT JOIN ({}) erp ON erp.source_system_id = e.system_id AND erp.source_external_id = e.external_id
LEFT JOIN ({}) inv ON inv.source_system_id = e.system_id AND inv.source_external_id = e.external_id
LEFT JOIN ({}) ke ON ke.source_system_id = e.system_id AND ke.external_id = e.external_id
LEFT JOIN ({}) kb ON kb.source_system_id = e.system_id AND kb.external_id = e.external_id
"""

# Each approved entry's state on each side, from the columns of the inner query (its sides read once each).
STATES = f"""
SELECT s.*,
  CASE WHEN s.erp_h IS NULL THEN 'missing' WHEN ABS(s.erp_h - s.hours) >= {TOLERANCE} THEN 'differ'
       ELSE 'ok' END AS erp_state,
  CASE WHEN s.inv_h IS NULL THEN (CASE WHEN s.invoice_reference <> '' THEN 'missing' ELSE 'wip' END)
       WHEN ABS(s.inv_h - s.hours) >= {TOLERANCE} THEN 'differ' ELSE 'ok' END AS bill_state
FROM ({{inner}}) s
"""

# One row per group of entries in the same state, and one per entry that is a gap: its own group.
GROUPED = f"""
SELECT m.project_id, m.erp_state, m.bill_state, m.in_transit, m.known_erp, m.known_bill, m.gap_id,
  COUNT(*), SUM(m.hours), SUM(CASE WHEN m.billable THEN m.hours ELSE 0 END),
  SUM(COALESCE(m.erp_h, 0)), SUM(COALESCE(m.inv_h, 0)), MAX(m.currency),
  MAX(m.external_id), MIN(m.work_date), MAX(CASE WHEN m.billable THEN m.bill_rate ELSE 0 END),
  MAX(m.erp_h), MAX(m.inv_h)
FROM (
  SELECT t.*, CASE WHEN NOT t.in_transit AND (
      ({{erp_on}} = 1 AND t.erp_state <> 'ok' AND t.known_erp = 0)
      OR ({{bill_on}} = 1 AND t.bill_state IN ('missing', 'differ') AND t.known_bill = 0)
    ) THEN t.id END AS gap_id
  FROM ({STATES}) t
) m
GROUP BY m.project_id, m.erp_state, m.bill_state, m.in_transit, m.known_erp, m.known_bill, m.gap_id
"""

COLUMNS = [
    "project_id",
    "erp_state",
    "bill_state",
    "in_transit",
    "known_erp",
    "known_bill",
    "gap_id",
    "count",
    "hours",
    "billable_hours",
    "erp_hours",
    "inv_hours",
    "currency",
    "external_id",
    "work_date",
    "rate",
    "erp_h",
    "inv_h",
]


def period_entries(ctx):
    """The period's approved entries from time tracking."""
    p = ctx.period
    return TimeEntry.objects.for_workspace(ctx.workspace).filter(
        system__kind__in=TIME_SOURCES, status=TimeEntryStatus.APPROVED, work_date__gte=p.start, work_date__lte=p.end
    )


def carried_hours(ctx, system_kind, on_invoice=False):
    """Hours each record's live postings in systems of ``system_kind`` carry, for the period's entries only:
    ``records.sides`` (``erp_hours``, ``invoiced_hours``) as one grouped table, so the database joins it
    to the entries in one pass instead of looking each entry up."""
    entries = period_entries(ctx).filter(system=OuterRef("source_system"), external_id=OuterRef("source_external_id"))
    postings = postings_in(system_kind, "time_entry").filter(workspace=ctx.workspace).filter(Exists(entries))
    if on_invoice:
        postings = postings.exclude(number="")
    return (
        postings.order_by()
        .values("source_system_id", "source_external_id")
        .annotate(carried=Sum("hours"))
        .values("source_system_id", "source_external_id", "carried")
    )


def approved_entries(ctx):
    """``(sql, params)``: the period's approved entries, each with its hours in the ERP and on invoices
    (NULL when none), whether the queue already knows it on each track, and whether it is in transit."""
    entries = (
        period_entries(ctx)
        .order_by()
        .annotate(in_transit=ExpressionWrapper(Q(approved_at__gt=ctx.now - GRACE), output_field=BooleanField()))
        .values(
            "id",
            "system_id",
            "external_id",
            "project_id",
            "hours",
            "billable",
            "bill_rate",
            "currency",
            "work_date",
            "invoice_reference",
            "in_transit",
        )
    )
    parts = [
        entries,
        carried_hours(ctx, SystemKind.ERP),
        carried_hours(ctx, SystemKind.BILLING, on_invoice=True),
        known_records(ctx.workspace, "time_entry", SystemKind.ERP),
        known_records(ctx.workspace, "time_entry", SystemKind.BILLING),
    ]
    compiled = [part.query.sql_with_params() for part in parts]
    sql = JOINED.format(*(text for text, _ in compiled))
    return sql, [param for _, params in compiled for param in params]


def grouped_rows(ctx):
    sql, params = approved_entries(ctx)
    query = GROUPED.format(erp_on=int(ctx.erp_time_reported), bill_on=int(ctx.billing_time_reported), inner=sql)
    with connections[TimeEntry.objects.db].cursor() as cursor:
        cursor.execute(query, params)
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def _cause_of(row, ctx):
    """The gaps one mismatching entry shows: ``[(cause, target hours)]``."""
    causes = []
    if ctx.erp_time_reported and row["erp_state"] != "ok" and not row["known_erp"]:
        code = "missing_in_erp" if row["erp_state"] == "missing" else "hours_differ_erp"
        causes.append((code, row["erp_h"]))
    if ctx.billing_time_reported and row["bill_state"] in ("missing", "differ") and not row["known_bill"]:
        code = "missing_in_billing" if row["bill_state"] == "missing" else "hours_differ_billing"
        causes.append((code, row["inv_h"]))
    return causes


def time_side(ctx):
    """Each project's balance, and the time gaps: one per project and cause."""
    balances, found = {}, defaultdict(list)
    for row in grouped_rows(ctx):
        b = balances.setdefault(row["project_id"], Balance(row["project_id"]))
        hours = dec(row["hours"])
        b.approved_hours += hours
        b.billable_hours += dec(row["billable_hours"])
        b.erp_hours += dec(row["erp_hours"])
        b.invoiced_hours += dec(row["inv_hours"])
        b.currency = b.currency or row["currency"] or ""
        erp_open = ctx.erp_time_reported and row["erp_state"] != "ok"
        bill_open = ctx.billing_time_reported and row["bill_state"] in ("missing", "differ")
        if row["erp_state"] == "ok":
            # records.sides.holds: the ERP holds it, and billing on an invoice where billable.
            billable = dec(row["billable_hours"])
            b.reconciled_hours += hours - billable + (billable if row["bill_state"] == "ok" else ZERO)
        if not (erp_open or bill_open):
            continue
        if row["in_transit"]:
            b.transit_hours += hours
        elif row["gap_id"] is None:
            b.known_hours += hours
        else:
            for cause, target_hours in _cause_of(row, ctx):
                found[(row["project_id"], cause)].append((row, target_hours))
    return balances, _time_gaps(ctx, balances, found)


def _projects(ids):
    return {p.pk: p for p in Project.objects.filter(pk__in=[i for i in ids if i]).select_related("client")}


def _time_gaps(ctx, balances, found):
    projects = _projects({project_id for project_id, _ in found})
    gaps = []
    for (project_id, code), rows in sorted(found.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        cause, project = BY_CODE[code], projects.get(project_id)
        target_systems = ctx.erp if cause.target == "erp" else ctx.billing
        source_hours = sum((dec(r["hours"]) for r, _ in rows), ZERO)
        target_hours = sum((dec(t) for _, t in rows), ZERO)
        money = sum((abs(dec(r["hours"]) - dec(t)) * dec(r["rate"]) for r, t in rows), ZERO).quantize(dec(1) / 100)
        source_amount = sum((dec(r["hours"]) * dec(r["rate"]) for r, _ in rows), ZERO)
        target_amount = sum((dec(t) * dec(r["rate"]) for r, t in rows), ZERO)
        records = sorted(r["external_id"] for r, _ in rows)
        held = sum(1 for _, t in rows if t is not None)
        name = f"{project.code} {project.name}".strip() if project else "an unknown project"
        target_name = ctx.names(target_systems, cause.target.upper())
        gaps.append(
            Gap(
                cause=code,
                key=project_key(code, project_id, ctx.period),
                record_type="project",
                external_id=f"{code}:{project.external_id if project else 'none'}:{ctx.period.label}"[:128],
                title=f"{name} · {ctx.period.label} · {cause.in_title}"[:200],
                message=f"{len(rows)} approved entr{'y' if len(rows) == 1 else 'ies'}, {source_hours} h in time "
                f"tracking; {target_hours} h in {target_name}",
                source=Side("Time tracking", len(rows), source_hours, source_amount),
                target=Side(target_name, held, target_hours, target_amount),
                system_id=target_systems[0].pk,
                source_system_id=project.system_id if project else target_systems[0].pk,
                record_date=min(r["work_date"] for r, _ in rows),
                records=records,
                records_total=len(records),
                money_at_stake=money,
                currency=rows[0][0]["currency"] or "",
                project_id=project_id,
                client_id=project.client_id if project else None,
            )
        )
        b = balances[project_id]
        b.gap_count += 1
        b.money_at_stake += money
    return gaps


def only_in_erp(ctx, balances):
    """ERP time postings of the period whose entry time tracking does not hold as approved."""
    if not ctx.erp_time_reported:
        return []
    rows = invoices.erp_only_time(ctx)
    found = defaultdict(list)
    for row in rows:
        if row["known"]:
            continue
        found[row["entry_project"]].append(row)
    projects = _projects(set(found))
    gaps = []
    for project_id, rows in sorted(found.items(), key=lambda kv: kv[0] or 0):
        project = projects.get(project_id)
        hours = sum((dec(r["hours"]) for r in rows), ZERO)
        money = sum(dec(r["amount"]) if r["amount"] is not None else dec(r["hours"]) * dec(r["rate"]) for r in rows)
        money = dec(money)
        target_name = ctx.names(ctx.erp, "ERP")
        name = f"{project.code} {project.name}".strip() if project else "Time of unknown projects"
        records = sorted({r["source_external_id"] for r in rows})
        gaps.append(
            Gap(
                cause="only_in_erp",
                key=project_key("only_in_erp", project_id, ctx.period),
                record_type="project",
                external_id=f"only_in_erp:{project.external_id if project else 'none'}:{ctx.period.label}"[:128],
                title=f"{name} · {ctx.period.label} · time only in the ERP"[:200],
                message=f"{len(rows)} posting{'s' if len(rows) != 1 else ''}, {hours} h in {target_name}; "
                "none approved in time tracking",
                source=Side("Time tracking", 0, ZERO, ZERO),
                target=Side(target_name, len(rows), hours, money),
                system_id=rows[0]["system_id"],
                source_system_id=rows[0]["source_system_id"],
                record_date=min(r["posted_on"] for r in rows),
                records=records,
                records_total=len(records),
                money_at_stake=money,
                currency=rows[0]["currency"] or "",
                project_id=project_id,
                client_id=project.client_id if project else None,
            )
        )
        b = balances.setdefault(project_id, Balance(project_id, currency=rows[0]["currency"] or ""))
        b.erp_hours += hours
        b.gap_count += 1
        b.money_at_stake += money
    return gaps


def totals(result):
    keys = ("approved_hours", "billable_hours", "erp_hours", "invoiced_hours", "transit_hours", "known_hours")
    sums = {k: sum((getattr(b, k) for b in result.projects), ZERO) for k in (*keys, "reconciled_hours")}
    approved = sums["approved_hours"]
    share = (sums["reconciled_hours"] / approved * 100).quantize(dec(1) / 10) if approved else None
    money = defaultdict(lambda: ZERO)
    for gap in result.gaps:
        money[gap.currency] += gap.money_at_stake
    return {
        **{k: str(v) for k, v in sums.items()},
        "reconciled_share": str(share) if share is not None else None,
        "gaps": len(result.gaps),
        "money_at_stake": {cur: str(v) for cur, v in sorted(money.items())},
    }
