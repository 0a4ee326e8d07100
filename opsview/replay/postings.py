"""What a verified replay tells opsview about the target: it now holds the record, as a posting.

Reconciliation compares each time entry and invoice with the postings of the ERP and billing
(``opsview.records.sides``). A replay the target accepted and confirmed is such a posting, known
before the target's own export reports it; recording it lets the replay close the gap at once.
"""

import re
from decimal import Decimal

from opsview.common import bounds
from opsview.records.models import Invoice, Posting, TimeEntry

CURRENCY = re.compile(r"^[A-Z]{3}$")
# Where the target's answer may carry the record's date, by record type, first found first.
DATE_KEYS = {"time_entry": ("date", "work_date", "posted_on"), "invoice": ("issue_date", "date", "posted_on")}
HOURS_LIMIT = Decimal(1000000)  # as the ingest API takes a posting's hours


def record_posting(replay, back, target_id):
    """The posting the target holds for the replayed record, created or refreshed; None when there is none to key.

    ``back`` is the target's view of the record (what it read back or found), ``target_id`` its
    id there. A second replay that finds the record keys the same posting: one per
    (target system, target id). A posting the target has reported itself (it carries the target's
    version) is left as the target said.
    """
    target_id = str(target_id or "")[:128]
    if replay.record_type not in DATE_KEYS or not target_id:
        return None
    values = _values(replay, back)
    posting, created = Posting.objects.get_or_create(
        system_id=replay.target_system_id,
        external_id=target_id,
        defaults={"workspace_id": replay.workspace_id, **values},
    )
    if created or posting.source_version is not None or posting.source_updated_at is not None:
        return posting
    for name, value in values.items():
        setattr(posting, name, value)
    posting.save(update_fields=list(values))
    return posting


def _values(replay, back):
    item, record_type = replay.exception, replay.record_type
    copy = _own_copy(item, record_type)
    day = next((d for d in map(_date, (back.get(k) for k in DATE_KEYS[record_type])) if d), None)
    values = {
        "record_type": record_type,
        "source_system_id": item.source_system_id,
        "source_external_id": item.external_id,
        "currency": back.get("currency") if CURRENCY.match(str(back.get("currency") or "")) else "",
        # Never a version: the target's own report of this posting, whenever it comes, is newer.
        "source_version": None,
        "source_updated_at": None,
        "is_cancelled": False,
    }
    if record_type == "time_entry":
        values["hours"] = _hours(back.get("hours"))
        values["number"] = str(back.get("number") or "")[:64]  # the invoice a billing time line is on, if any
        if copy is not None:
            values["hours"] = copy.hours if values["hours"] is None else values["hours"]
            day, values["currency"] = day or copy.work_date, values["currency"] or copy.currency
    else:
        values["amount"] = bounds.money_or_none(back.get("amount")) if back.get("amount") is not None else None
        # Billing's number, not the ERP's own: reconciliation finds an invoice's posting by the invoice's number.
        values["number"] = str(back.get("number") or "")[:64]
        if copy is not None:
            values["amount"] = copy.amount if values["amount"] is None else values["amount"]
            values["number"] = copy.number
            day, values["currency"] = day or copy.issue_date, values["currency"] or copy.currency
    values["posted_on"] = day
    return values


def _own_copy(item, record_type):
    """opsview's copy of the replayed record in its source system, or None when opsview has none."""
    model, linked = (TimeEntry, item.time_entry_id) if record_type == "time_entry" else (Invoice, item.invoice_id)
    records = model.objects.for_workspace(item.workspace_id)
    if linked:
        return records.filter(pk=linked).first()
    return records.filter(system_id=item.source_system_id, external_id=item.external_id).first()


def _hours(value):
    if value is None:
        return None
    try:
        return bounds.bounded_decimal(value, 2, -HOURS_LIMIT, HOURS_LIMIT, exact=False)
    except bounds.OutOfBounds:
        return None


def _date(value):
    if not value:
        return None
    try:
        return bounds.bounded_date(str(value)[:10])
    except bounds.OutOfBounds:
        return None
