"""One record, one truth: what a replay the target accepted changes in opsview's own copy of the record.

An invoice replayed to the ERP and read back posted is posted in opsview too, in the same
transaction as the replay's success, and the state rules then resolve what that makes untrue
(the "invoice not posted to ERP" exception). Any time entry or invoice the target confirmed is
recorded as the target's posting of it (``opsview.replay.postings``), for reconciliation.
"""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from opsview.queues import state_rules
from opsview.records.models import Invoice, InvoiceStatus
from opsview.replay.postings import record_posting
from opsview.systems.models import SystemKind

NOT_YET_POSTED = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED)


def update_after_replay(replay, detail):
    """Bring opsview's copy of the replayed record, and of the target's posting of it, in line with the target."""
    back = _read_back(detail)
    if replay.record_type == "invoice" and replay.target_system.kind == SystemKind.ERP:
        _invoice_posted(replay, back)
    record_posting(replay, back, back.get("external_id") or (detail or {}).get("external_id"))


def _read_back(detail):
    """The target's view of the record in a delivery's detail, wherever the connector put it."""
    detail = detail or {}
    for key in ("read_back", "found"):
        if isinstance(detail.get(key), dict):
            return detail[key]
    return detail


def _invoice_posted(replay, back):
    item = replay.exception
    invoices = Invoice.objects.for_workspace(replay.workspace_id)
    invoice = (
        invoices.filter(pk=item.invoice_id).first()
        if item.invoice_id
        else invoices.filter(system_id=item.source_system_id, external_id=item.external_id).first()
    )
    if invoice is None:
        return None
    changed = []
    if invoice.status in NOT_YET_POSTED:
        invoice.status = InvoiceStatus.POSTED
        changed.append("status")
    if invoice.posted_at is None:
        invoice.posted_at = _moment(back.get("posted_at")) or timezone.now()
        changed.append("posted_at")
    number = str(back.get("number") or "")[:64]
    if number and number != invoice.number and not number.startswith("draft-") and number != invoice.erp_reference:
        invoice.erp_reference = number  # the ERP's number; the billing number stays the invoice's own
        changed.append("erp_reference")
    if changed:
        invoice.save(update_fields=changed)
        state_rules.on_states(replay.target_system.workspace, Invoice, invoice.system, [invoice.external_id])
    return invoice


def _moment(value):
    if not value:
        return None
    try:
        return parse_datetime(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
