"""The parts of a reconciliation driven by other records than approved time: invoices in billing against
the ERP, ERP postings no source holds, and sync runs that read more records than they reported.

Like the time side, each is one query that classifies in SQL and returns only mismatching rows.
"""

from collections import defaultdict

from django.db import connections
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from opsview.queues.models import Kind
from opsview.reconcile.causes import BY_CODE
from opsview.reconcile.figures import GRACE, TOLERANCE, ZERO, Gap, Side, dec, invoice_key, run_key
from opsview.reconcile.known import known_in_queue, known_records
from opsview.records.models import Invoice, InvoiceStatus, TimeEntry, TimeEntryStatus
from opsview.records.sides import postings_in
from opsview.systems.models import SystemKind
from opsview.telemetry.models import FINISHED_STATUSES, SyncEvent, SyncRun

LIVE_INVOICE = (InvoiceStatus.ISSUED, InvoiceStatus.POSTED, InvoiceStatus.PAID)


def billing_invoices(workspace):
    """Invoices billing holds as issued (issued, posted or paid; not draft or void)."""
    return Invoice.objects.for_workspace(workspace).filter(system__kind=SystemKind.BILLING, status__in=LIVE_INVOICE)


def erp_only_time(ctx):
    """The period's live ERP time postings whose entry time tracking does not hold as approved, as dicts."""
    p = ctx.period
    carried = TimeEntry.objects.filter(
        workspace=OuterRef("workspace"), system=OuterRef("source_system"), external_id=OuterRef("source_external_id")
    )
    return list(
        postings_in(SystemKind.ERP, "time_entry")
        .filter(workspace=ctx.workspace, posted_on__gte=p.start, posted_on__lte=p.end)
        .annotate(approved=Exists(carried.filter(status=TimeEntryStatus.APPROVED)))
        .filter(approved=False)
        .annotate(
            entry_project=Subquery(carried.values("project_id")[:1]),
            rate=Subquery(carried.values("bill_rate")[:1]),
            known=known_in_queue("time_entry", SystemKind.ERP, "source_system", "source_external_id"),
        )
        .order_by("posted_on", "id")
        .values(
            "system_id",
            "source_system_id",
            "source_external_id",
            "hours",
            "amount",
            "currency",
            "posted_on",
            "entry_project",
            "rate",
            "known",
        )
    )


JOINED = """
SELECT i.*, erp.n AS erp_n, erp.total AS erp_amt, CASE WHEN k.external_id IS NULL THEN 0 ELSE 1 END AS known
FROM ({}) i
LEFT JOIN ({}) erp ON erp.number = i.number
LEFT JOIN ({}) k ON k.source_system_id = i.system_id AND k.external_id = i.external_id
"""
STATES = f"""
SELECT t.*, CASE WHEN NOT t.in_transit AND t.known = 0 AND t.state <> 'ok' THEN t.id END AS gap_id
FROM (
  SELECT s.*, CASE WHEN s.erp_n IS NULL THEN 'missing' WHEN s.erp_n >= 2 THEN 'twice'
    WHEN ABS(s.erp_amt - s.amount) >= {TOLERANCE} THEN 'differs' ELSE 'ok' END AS state
  FROM ({{inner}}) s
) t
"""
GROUPED = f"""
SELECT m.state, m.in_transit, m.known, m.gap_id, COUNT(*), SUM(m.amount), SUM(COALESCE(m.erp_amt, 0)),
  MAX(m.currency), MAX(m.number), MAX(m.external_id), MAX(m.system_id), MAX(m.client_id), MAX(m.project_id),
  MIN(m.issue_date), MAX(m.erp_n), MAX(m.erp_amt), MAX(m.amount)
FROM ({STATES}) m GROUP BY m.state, m.in_transit, m.known, m.gap_id
"""
COLUMNS = [
    "state",
    "in_transit",
    "known",
    "gap_id",
    "count",
    "amount",
    "erp_amount",
    "currency",
    "number",
    "external_id",
    "system_id",
    "client_id",
    "project_id",
    "issue_date",
    "erp_n",
    "erp_amt",
    "invoice_amount",
]
CAUSE_OF_STATE = {
    "missing": "invoice_missing_in_erp",
    "twice": "invoice_posted_twice",
    "differs": "invoice_amount_differs",
}


def _issued_in_period(ctx):
    """``(sql, params)``: the period's issued invoices, each with the number and total of the ERP's live
    postings of its number (``records.sides.erp_amount`` as one grouped table), and whether the queue knows it."""
    p = ctx.period
    issued = billing_invoices(ctx.workspace).filter(issue_date__gte=p.start, issue_date__lte=p.end)
    issued_recently = timezone.localdate(ctx.now - GRACE)
    invoices = (
        issued.order_by()
        .annotate(in_transit=ExpressionWrapper(Q(issue_date__gte=issued_recently), output_field=BooleanField()))
        .values(
            "id",
            "number",
            "amount",
            "currency",
            "external_id",
            "system_id",
            "client_id",
            "project_id",
            "issue_date",
            "in_transit",
        )
    )
    postings = (
        postings_in(SystemKind.ERP, "invoice")
        .filter(workspace=ctx.workspace)
        .filter(Exists(issued.filter(number=OuterRef("number"))))
        .order_by()
        .values("number")
        .annotate(n=Count("*"), total=Sum("amount"))
        .values("number", "n", "total")
    )
    known = known_records(ctx.workspace, "invoice", SystemKind.ERP, Q(kind=Kind.UNPOSTED_INVOICE))
    compiled = [part.query.sql_with_params() for part in (invoices, postings, known)]
    return JOINED.format(*(text for text, _ in compiled)), [p for _, params in compiled for p in params]


def invoice_gaps(ctx):
    """``(gaps, totals)`` of the period's issued invoices against the ERP's invoice postings."""
    totals = {"issued": 0, "issued_amount": ZERO, "in_erp_amount": ZERO, "matched": 0, "in_transit": 0, "known": 0}
    gaps = []
    if not ctx.billing_invoices_reported:
        return gaps, _texts(totals)
    sql, params = _issued_in_period(ctx)
    with connections[Invoice.objects.db].cursor() as cursor:
        cursor.execute(GROUPED.format(inner=sql), params)
        rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    mismatched = []
    for row in rows:
        totals["issued"] += row["count"]
        totals["issued_amount"] += dec(row["amount"])
        totals["in_erp_amount"] += dec(row["erp_amount"])
        if row["state"] == "ok":
            totals["matched"] += row["count"]
        elif not ctx.erp_invoices_reported:
            continue
        elif row["in_transit"]:
            totals["in_transit"] += row["count"]
        elif row["gap_id"] is None:
            totals["known"] += row["count"]
        else:
            mismatched.append(row)
    extras = _extra_postings([r["number"] for r in mismatched if r["state"] == "twice"])
    seen = set()
    for row in mismatched:
        code = CAUSE_OF_STATE[row["state"]]
        if (code, row["number"]) not in seen:
            seen.add((code, row["number"]))
            gaps.append(_invoice_gap(ctx, code, row, extras))
    gaps += _only_in_erp(ctx)
    return gaps, _texts(totals)


def _texts(totals):
    return {k: str(v) if not isinstance(v, int) else v for k, v in totals.items()}


def _extra_postings(numbers):
    """For invoices posted twice: each number's postings beyond the first, in the order they were posted."""
    extras = defaultdict(list)
    if numbers:
        postings = postings_in(SystemKind.ERP, "invoice").filter(number__in=numbers).order_by("posted_on", "id")
        for posting in postings.values("number", "system_id", "amount"):
            extras[posting["number"]].append(posting)
    return {number: (rows[0]["system_id"], rows[1:]) for number, rows in extras.items()}


def _invoice_gap(ctx, code, row, extras):
    erp_name = ctx.names(ctx.erp, "ERP")
    amount, erp_amt = dec(row["invoice_amount"]), row["erp_amt"]
    system_id = ctx.erp[0].pk if ctx.erp else row["system_id"]
    if code == "invoice_missing_in_erp":
        money, what = amount, f"issued for {amount} {row['currency']}, not posted to {erp_name}"
    elif code == "invoice_posted_twice":
        system_id, extra = extras.get(row["number"], (system_id, []))
        money = sum((dec(p["amount"]) for p in extra), ZERO)
        what = f"posted {row['erp_n']} times in {erp_name}, {dec(erp_amt)} in all for {amount} issued"
    else:
        money = abs(dec(erp_amt) - amount)
        what = f"issued for {amount}, posted to {erp_name} for {dec(erp_amt)}"
    return Gap(
        cause=code,
        key=invoice_key(code, row["number"], ctx.period),
        record_type="invoice",
        external_id=row["external_id"],
        title=f"Invoice {row['number']} · {BY_CODE[code].in_title}"[:200],
        message=f"Invoice {row['number']} {what}",
        source=Side(ctx.names(ctx.billing, "Billing"), 1, None, amount),
        target=Side(erp_name, row["erp_n"] or 0, None, dec(erp_amt) if erp_amt is not None else ZERO),
        system_id=system_id,
        source_system_id=row["system_id"],
        record_date=row["issue_date"],
        records=[row["number"]],
        records_total=1,
        money_at_stake=money,
        currency=row["currency"] or "",
        project_id=row["project_id"],
        client_id=row["client_id"],
        invoice_id=row["gap_id"],
        number=row["number"],
    )


def _only_in_erp(ctx):
    """The period's live ERP invoice postings whose number billing does not hold as an issued invoice."""
    p = ctx.period
    issued = billing_invoices(ctx.workspace).filter(number=OuterRef("number"))
    rows = (
        postings_in(SystemKind.ERP, "invoice")
        .filter(workspace=ctx.workspace, posted_on__gte=p.start, posted_on__lte=p.end)
        .annotate(
            issued=Exists(issued),
            known=known_in_queue(
                "invoice", SystemKind.ERP, "source_system", "source_external_id", Q(kind=Kind.UNPOSTED_INVOICE)
            ),
        )
        .filter(issued=False, known=False)
        .order_by("number", "posted_on", "id")
        .values("number", "system_id", "source_system_id", "source_external_id", "amount", "currency", "posted_on")
    )
    by_number = defaultdict(list)
    for row in rows:
        by_number[row["number"]].append(row)
    erp_name, gaps = ctx.names(ctx.erp, "ERP"), []
    for number, postings in by_number.items():
        first, total = postings[0], sum((dec(r["amount"]) for r in postings), ZERO)
        gaps.append(
            Gap(
                cause="invoice_only_in_erp",
                key=invoice_key("invoice_only_in_erp", number, ctx.period),
                record_type="invoice",
                external_id=first["source_external_id"],
                title=f"Invoice {number} · only in the ERP"[:200],
                message=f"Invoice {number} posted to {erp_name} for {total}; billing holds no issued invoice "
                "with that number",
                source=Side(ctx.names(ctx.billing, "Billing"), 0, None, ZERO),
                target=Side(erp_name, len(postings), None, total),
                system_id=first["system_id"],
                source_system_id=first["source_system_id"],
                record_date=first["posted_on"],
                records=[number],
                records_total=1,
                money_at_stake=total,
                currency=first["currency"] or "",
                number=number,
            )
        )
    return gaps


def run_gaps(ctx):
    """Finished runs of the period that said how many records they read and reported fewer."""
    start, after = ctx.period.moments()
    reported = (
        SyncEvent.objects.filter(run=OuterRef("pk"))
        .order_by()
        .values("run")
        .annotate(n=Count(Concat("record_type", Value("|"), "external_id"), distinct=True))
        .values("n")
    )
    runs = (
        SyncRun.objects.for_workspace(ctx.workspace)
        .filter(started_at__gte=start, started_at__lt=after, status__in=FINISHED_STATUSES)
        .filter(records_total__isnull=False)
        # Events may arrive a little after their run's end: a run is judged once the grace has passed.
        .filter(Q(finished_at__isnull=True) | Q(finished_at__lte=ctx.now - GRACE))
        .annotate(seen=Coalesce(Subquery(reported), 0))
        .filter(records_total__gt=F("seen"))
        .select_related("source_system", "target_system")
        .order_by("started_at", "pk")
    )
    gaps = []
    for run in runs:
        lost = run.records_total - run.seen
        started = timezone.localtime(run.started_at)
        gaps.append(
            Gap(
                cause="run_lost_records",
                key=run_key("run_lost_records", run.pk, ctx.period),
                record_type="sync_run",
                external_id=str(run.pk),
                title=f"Run {run.flow} of {started:%Y-%m-%d %H:%M} · {lost} of {run.records_total} records lost"[:200],
                message=f"The run read {run.records_total} records from {run.source_system.name} and reported "
                f"an outcome for {run.seen}",
                source=Side(f"{run.source_system.name} (read)", run.records_total),
                target=Side(f"{run.target_system.name} (reported)", run.seen),
                system_id=run.target_system_id,
                source_system_id=run.source_system_id,
                record_date=started.date(),
                records=[str(run.pk)],
                records_total=1,
                currency="",
                run_id=run.pk,
            )
        )
    return gaps
