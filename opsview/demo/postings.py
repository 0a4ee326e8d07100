"""What the ERP and the billing system hold once the demo's jobs delivered to them: their postings.

A time entry the ERP accepted is a timesheet line there, dated on the work date; one
billing accepted is a time line in billing, on the invoice that bills it once there is
one. An invoice the ERP accepted is an invoice posted there, dated on its issue date; a
voided one was reversed in the ERP. Nothing else: what a job never delivered, or is
still trying to, the target does not hold. So reconciling the demo as generated finds
no gap but the ones ``planting`` puts there on purpose.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from opsview.records.models import InvoiceStatus, Posting

TIME_ENTRY, INVOICE = "time_entry", "invoice"

POSTING_COLUMNS = (
    "workspace_id",
    "system_id",
    "external_id",
    "source_version",
    "source_updated_at",
    "received_at",
    "record_type",
    "source_system_id",
    "source_external_id",
    "number",
    "hours",
    "amount",
    "currency",
    "posted_on",
    "is_cancelled",
)

# What a target takes to report what it accepted: after the run that delivered it, before opsview hears of it.
REPORTED_AFTER = timedelta(minutes=1)
RECEIVED_AFTER = timedelta(minutes=2)


# The ERP's records from before the demo's own Tryton database was built: ids far above any it gives.
HISTORY = 10_000_000


def erp_line_id(n):
    """A Tryton timesheet line, as Tryton names a record: model and id."""
    return f"timesheet.line,{HISTORY + n}"


def erp_invoice_id(n):
    return f"account.invoice,{HISTORY + n}"


def resent_posting(system, record_type, external_id, payload, source_pk, target_id):
    """What the demo ERP (Tryton) holds of a record it took when the seed sent it again (unsaved)."""
    now = timezone.now()
    day = payload.get("date")
    posting = Posting(
        workspace_id=system.workspace_id,
        system_id=system.pk,
        external_id=f"{'timesheet.line' if record_type == TIME_ENTRY else 'account.invoice'},{target_id}",
        source_version=1,
        source_updated_at=now,
        received_at=now,
        record_type=record_type,
        source_system_id=source_pk,
        source_external_id=external_id,
        posted_on=date.fromisoformat(day) if day else None,
    )
    if record_type == TIME_ENTRY:
        posting.hours = Decimal(str(payload["duration"]))
    else:
        posting.number = payload.get("number", "")
        posting.amount = Decimal(str(payload["total_net"]))
        posting.currency = payload.get("currency", "")
    return posting


def billing_line_id(workspace_index, n):
    """A billing line item id, shaped like the UUIDs Xero gives them, unique per workspace and line."""
    h = f"{(workspace_index + 1) << 96 | n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class PostingWriter:
    """Writes the postings of one workspace's time entries as they are generated, through ``sink``."""

    def __init__(self, sink, workspace_pk, workspace_index, systems, currency, now):
        self.sink = sink
        self.workspace_pk = workspace_pk
        self.workspace_index = workspace_index
        self.erp, self.billing, self.source = systems["tryton"], systems["xero"], systems["harvest"]
        self.currency = currency
        self.now = now
        self.erp_lines = 0
        self.billing_lines = 0
        self.written = 0

    def time_entry(self, entry_id, day, hours, amount, erp_at, billed_at, number, invoiced_at):
        """The entry's line in the ERP (if ``erp_at``) and in billing (if ``billed_at``, on invoice ``number``).

        Returns the two lines' ids (None for a target that holds none).
        """
        erp_id = billing_id = None
        if erp_at is not None:
            self.erp_lines += 1
            erp_id = erp_line_id(self.erp_lines)
            self._row(self.erp, erp_id, 1, erp_at, entry_id, "", hours, None, "", day)
        if billed_at is not None:
            self.billing_lines += 1
            billing_id = billing_line_id(self.workspace_index, self.billing_lines)
            version, updated = (2, max(billed_at, invoiced_at)) if number else (1, billed_at)
            self._row(self.billing, billing_id, version, updated, entry_id, number, hours, amount, self.currency, day)
        return erp_id, billing_id

    def _row(self, system, external_id, version, delivered, entry_id, number, hours, amount, currency, day):
        now = self.now
        reported = min(delivered + REPORTED_AFTER, now)
        self.sink.add(
            (
                self.workspace_pk,
                system,
                external_id,
                version,
                reported,
                min(delivered + RECEIVED_AFTER, now),
                TIME_ENTRY,
                self.source,
                entry_id,
                number,
                hours,
                amount,
                currency,
                day,
                False,
            )
        )
        self.written += 1


def invoice_postings(invoices, workspace_pk, systems, now):
    """The ERP's invoices: one for each invoice it accepted, a voided one reversed there (unsaved Postings)."""
    postings = []
    for n, invoice in enumerate((i for i in invoices if i.posted_at is not None), start=1):
        void = invoice.status == InvoiceStatus.VOID
        updated = invoice.voided_at if void else invoice.posted_at
        postings.append(
            Posting(
                workspace_id=workspace_pk,
                system_id=systems["tryton"],
                external_id=erp_invoice_id(n),
                source_version=2 if void else 1,
                source_updated_at=updated,
                received_at=min(updated + RECEIVED_AFTER, now),
                record_type=INVOICE,
                source_system_id=systems["xero"],
                source_external_id=invoice.external_id,
                number=invoice.number,
                amount=invoice.amount,
                currency=invoice.currency,
                posted_on=invoice.issue_date,
                is_cancelled=void,
            )
        )
    return postings


def money(quarters, rate):
    """Hours x rate of ``quarters`` quarter hours, in cents exact."""
    return Decimal(quarters * rate * 25).scaleb(-2)
