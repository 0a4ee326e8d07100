"""Invoices: what the billing system made of the approved time, and their way to the ERP.

The consistency rule the demo keeps: a live invoice's amount is the sum of
hours x bill rate of the time entries that carry its number. A void invoice was
issued with the same time, voided a few days later and replaced by the next
number; it keeps its amount and no time entry points to it any more.
"""

from datetime import timedelta
from decimal import Decimal

from opsview.demo import catalog
from opsview.demo.plan import InvoiceSlot, at, first_open_day, month_index, month_start
from opsview.demo.sync import INVOICES_TO_ERP, Failure
from opsview.records.models import Invoice, InvoiceStatus


def plan_invoices(rng, plan, now):
    """One invoice per billable project and month, drafted a few days after month end; a few voided and reissued.

    Numbers follow the order in which the billing system created the invoices.
    """
    offset = plan.offset
    today = now.date()
    numbered = []
    stalled = _stalled_invoicing(plan)
    for project in plan.projects:
        if not project.billable:
            continue
        stop_after = None
        if project is stalled:
            stop_after = month_index(today) - 3  # nobody invoiced the last two months
        for period in range(month_index(max(project.start, plan.start)), month_index(min(project.end, today)) + 1):
            if stop_after is not None and period > stop_after:
                break
            drafted = month_start(period + 1) + timedelta(days=project.invoice_delay_days + rng.randrange(0, 3))
            created = at(drafted, rng.uniform(9, 12), offset)
            if created > now:
                continue
            review = rng.uniform(3, 52) if rng.random() < 0.75 else rng.uniform(72, 290)
            slot = InvoiceSlot(project, period, created, created + timedelta(hours=review))
            if slot.issued_at + timedelta(days=6) < now and rng.random() < 0.03:
                # Issued with a wrong rate, voided a day or three later and reissued.
                slot.voided_at = slot.issued_at + timedelta(hours=rng.uniform(24, 72))
            project.slots.append(slot)
            numbered.append((created, project.code, slot, "void" if slot.voided_at else "live"))
            if slot.voided_at:
                numbered.append((slot.voided_at, project.code, slot, "live"))
    waiting = [p for p in plan.projects if p.slots and p is not stalled and not p.slots[-1].voided_at]
    if waiting:
        # One draft sits waiting for its manager's sign-off.
        slot = rng.choice(waiting).slots[-1]
        slot.issued_at = max(slot.issued_at, now + timedelta(days=rng.randrange(2, 9)))
    numbered.sort(key=lambda item: (item[0], item[1], item[3]))
    counters = {}
    for created, _code, slot, kind in numbered:
        year = created.year
        counters[year] = counters.get(year, 40 + rng.randrange(0, 200) if not counters else 0) + 1
        number = f"INV-{year}-{counters[year]:04d}"
        external_id = _uuid(rng)
        if kind == "void":
            slot.void_number, slot.void_external_id = number, external_id
        else:
            slot.number, slot.external_id = number, external_id


def _stalled_invoicing(plan):
    """One of the lead manager's projects: invoicing stopped, so its approved time piles up unbilled."""
    owned = [p for p in plan.projects if p.billable and p.manager is plan.lead and p.start <= plan.start]
    return owned[0] if owned else None


def _uuid(rng):
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def invoice_rows(rng, plan, workspace_pk, xero_pk, events, schedules, now):
    """The invoices planned for ``plan`` (unsaved; their time is already generated), and their ERP postings."""
    schedule = schedules[INVOICES_TO_ERP.name]
    slots = sorted((s for p in plan.projects for s in p.slots), key=lambda s: s.created_at)
    _date_back(plan, slots, now)
    rows = []
    for slot in slots:
        if not slot.cents:
            continue  # nobody's time reached this invoice: the billing system never drafted it
        amount = Decimal(slot.cents).scaleb(-2)
        issued_at = slot.voided_at + timedelta(hours=2) if slot.voided_at else slot.issued_at
        if slot.voided_at:
            void = _invoice(rng, plan, slot, slot.void_number, slot.void_external_id, amount, slot.issued_at, now)
            _post(rng, plan, void, slot, events, schedule, now, duplicate_rate=0)
            void.status, void.voided_at, void.paid_at = InvoiceStatus.VOID, slot.voided_at, None
            void.source_version, void.source_updated_at = 4, slot.voided_at
            rows.append(void)
        live = _invoice(rng, plan, slot, slot.number, slot.external_id, amount, issued_at, now)
        if live.status != InvoiceStatus.DRAFT:
            _post(rng, plan, live, slot, events, schedule, now)
        rows.append(live)
    for row in rows:
        row.workspace_id, row.system_id = workspace_pk, xero_pk
        row.received_at = min(row.source_updated_at + timedelta(minutes=3), now)
    return rows


BACKDATED_PER_FIRM = 2


def _closes(plan, period):
    """When the ERP closes the month ``period``: on the ninth of the next month."""
    return at(month_start(period + 1) + timedelta(days=8), 18, plan.offset)


def _date_back(plan, slots, now):
    """A few invoices of months the ERP closed a while ago: issued after the close, dated in the month.

    Only invoices no other cause stops when they are sent are chosen, so the ERP's closed period is
    what refuses them: the project is mapped and the client's tax code fixed by then, and a product
    loses its revenue account only days later. The last closed month's invoices, freshly posted,
    only where the months before have too few: a small firm early in a month has a couple at most.
    """
    today = (now + timedelta(hours=plan.offset)).date()
    first_open = month_index(first_open_day(today))

    def late(s):
        return max(s.issued_at, min(_closes(plan, s.period) + timedelta(hours=20), now - timedelta(hours=2)))

    candidates = [
        s
        for s in slots
        if s.cents
        and not s.voided_at
        and s.issued_at <= now
        and s.period < first_open
        and (not s.project.erp_service or late(s) + timedelta(days=2) < s.project.erp_service_since)
        and s.project.erp_mapped_at is not None
        and s.project.erp_mapped_at <= late(s)
        and s.project.client.tax_code_fixed_at is not None
        and s.project.client.tax_code_fixed_at <= late(s)
    ]
    older = sorted((s for s in candidates if s.period < first_open - 1), key=lambda s: s.issued_at)
    last_closed = sorted((s for s in candidates if s.period == first_open - 1), key=lambda s: s.issued_at)
    for slot in (older[-BACKDATED_PER_FIRM:] + last_closed)[:BACKDATED_PER_FIRM]:
        slot.issued_at = late(slot)
        slot.dated_on = month_start(slot.period + 1) - timedelta(days=1)


def _invoice(rng, plan, slot, number, external_id, amount, issued_at, now):
    project, client = slot.project, slot.project.client
    invoice = Invoice(
        external_id=external_id,
        number=number,
        client_id=client.pk,
        project_id=project.pk,
        amount=amount,
        currency=plan.firm.currency,
        status=InvoiceStatus.DRAFT,
        source_version=1,
        source_updated_at=slot.created_at,
    )
    if issued_at <= now:
        invoice.status = InvoiceStatus.ISSUED
        invoice.issue_date = slot.dated_on or (issued_at + timedelta(hours=plan.offset)).date()
        invoice.due_date = invoice.issue_date + timedelta(days=client.terms_days)
        invoice.source_version, invoice.source_updated_at = 2, issued_at
    invoice.issued_at = issued_at
    return invoice


def _lines(slot, tax_code):
    period = f"{month_start(slot.period):%B %Y}"
    lines = []
    for n, (rate, quarters) in enumerate(sorted(slot.quarters_by_rate.items(), reverse=True), start=1):
        lines.append(
            {
                "line": n,
                "description": f"Professional services {period}, {slot.project.code}, rate {rate}.00",
                "quantity": quarters / 4,
                "unit_amount": f"{rate}.00",
                "tax_code": tax_code,
                "line_amount": f"{Decimal(quarters * rate * 25).scaleb(-2)}",
            }
        )
    return lines


def _post(rng, plan, invoice, slot, events, schedule, now, duplicate_rate=0.05):
    """Send the invoice to the ERP; posted (and later paid) only once the ERP accepted it."""
    project, client = slot.project, slot.project.client
    lines = _lines(slot, client.tax_code_on(invoice.issued_at))
    number = invoice.number
    payload = {
        "invoice_id": invoice.external_id,
        "number": invoice.number,
        "company": plan.firm.company,
        "contact": {"code": client.external_id, "name": client.name},
        "reference": project.code,
        "date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "lines": lines,
        "total_net": f"{invoice.amount}",
    }

    def check(t, attempt):
        if project.erp_mapped_at is None or t < project.erp_mapped_at:
            return Failure(catalog.UNKNOWN_PROJECT, catalog.unknown_project(project.code), project.erp_mapped_at)
        tax_code = client.tax_code_on(invoice.issued_at)
        if tax_code == client.tax_code and (client.tax_code_fixed_at is None or t < client.tax_code_fixed_at):
            message = catalog.tax_code_missing(tax_code, rng.randint(1, len(lines)))
            return Failure(catalog.TAX_CODE_MISSING, message, client.tax_code_fixed_at)
        if project.erp_service and t >= project.erp_service_since:
            message = catalog.no_revenue_account(project.erp_service, 1)
            return Failure(catalog.NO_REVENUE_ACCOUNT, message, None)
        if slot.dated_on and number == slot.number and t >= _closes(plan, slot.period):
            message = catalog.period_closed(f"{slot.dated_on:%Y-%m}", plan.firm.company)
            return Failure(catalog.PERIOD_CLOSED, message, None)
        if attempt == 0 and rng.random() < duplicate_rate:
            # The first post timed out but went through; the job's retry then meets the number.
            message = catalog.duplicate_invoice_number(invoice.number)
            return Failure(catalog.DUPLICATE_INVOICE_NUMBER, message, t + timedelta(hours=rng.uniform(4, 40)))
        return None

    refused = []

    def noted(t, attempt):
        failure = check(t, attempt)
        if failure is not None:
            refused.append(failure)
        return failure

    posted = events.deliver(schedule, invoice.issued_at, invoice.external_id, payload, noted)
    # The ERP took it the first time: no exception was ever opened for it (planting chooses among these).
    invoice.erp_clean = posted is not None and not refused
    if posted is None:
        return
    invoice.posted_at = min(posted + timedelta(seconds=rng.uniform(5, 90)), now)
    invoice.status = InvoiceStatus.POSTED
    invoice.source_version, invoice.source_updated_at = 3, invoice.posted_at
    due = invoice.due_date + timedelta(days=client.pays_late_days + round(rng.gauss(0, 4)))
    paid = max(invoice.posted_at + timedelta(days=1), at(due, rng.uniform(9, 17), plan.offset))
    if paid <= now:
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, paid
        invoice.source_version, invoice.source_updated_at = 4, paid
