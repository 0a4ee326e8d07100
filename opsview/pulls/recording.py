"""The sync events a pull records: what happened to each record read, and a pull that failed.

A record's event id is derived from the system, the record type and what the record
says (less ``updated_at``, which some systems stamp at every read), plus the outcome:
reading a record again, unchanged, gives the same id, so it is a duplicate and not a
new event; a record that failed and is later stored gets a new, succeeded, event.
``opsview.ingest.events.store_events`` stores them, as it stores what the ingest API receives.
"""

import hashlib

import orjson
from django.utils import timezone

from opsview.ingest.events import sync_event

PULL_RECORD_TYPE = "pull"  # the record type of a pull's own failure


def record_event_id(system, record_type, item, outcome, error_code=""):
    """The deterministic event id of one pulled record's outcome."""
    content = {name: value for name, value in item.items() if name != "updated_at"} if isinstance(item, dict) else item
    digest = hashlib.sha256(
        orjson.dumps([system.pk, record_type, content, outcome, error_code], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()[:40]
    return f"pull:{system.pk}:{record_type}:{digest}"


def storable(value):
    """``value`` with each NUL character written out as the text ``\\u0000``: PostgreSQL stores no NUL.

    A record that carries one is rejected by validation; its event must still be stored, with the spot visible.
    """
    if b"\\u0000" not in orjson.dumps(value):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def record_event(system, run, record_type, item, outcome, error_code="", error_message="", occurred_at=None):
    """The event for one record read by a pull, as ``store_events`` takes it; the record itself is the payload."""
    item = storable(item)
    external_id = item.get("external_id") if isinstance(item, dict) else None
    return sync_event(
        event_id=record_event_id(system, record_type, item, outcome, error_code),
        run=run.pk,
        record_type=record_type,
        external_id=str(external_id)[:128] if external_id not in (None, "") else "(none)",
        source_system=system.pk,
        target_system=system.pk,
        outcome=outcome,
        error_code=error_code,
        error_message=error_message,
        payload=item,
        occurred_at=occurred_at or timezone.now(),
    )


def pull_event(system, run, kind, outcome, error_code="", error_message="", payload=None):
    """The event for a pull as a whole: record type ``pull``, external id the kind pulled."""
    return sync_event(
        event_id=f"pull:{system.pk}:run:{run.pk}:{outcome}",
        run=run.pk,
        record_type=PULL_RECORD_TYPE,
        external_id=kind.name,
        source_system=system.pk,
        target_system=system.pk,
        outcome=outcome,
        error_code=error_code[:80],
        error_message=error_message,
        payload=payload,
        occurred_at=timezone.now(),
    )
