"""The sync events a pull records: what happened to each record read, and a pull that failed.

A record's event id is derived from the system, the record type and what the record
says (less ``updated_at``, which some systems stamp at every read), plus the outcome:
reading a record again, unchanged, gives the same id, so it is a duplicate and not a
new event; a record that failed and is later stored gets a new, succeeded, event.
"""

import hashlib

import orjson
from django.utils import timezone

from opsview.queues import sync_failures
from opsview.telemetry.models import SyncEvent

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
    """An (unsaved) event for one record read by a pull; the record itself is the payload."""
    item = storable(item)
    external_id = item.get("external_id") if isinstance(item, dict) else None
    return SyncEvent(
        workspace_id=system.workspace_id,
        event_id=record_event_id(system, record_type, item, outcome, error_code),
        run=run,
        record_type=record_type,
        external_id=str(external_id)[:128] if external_id not in (None, "") else "(none)",
        source_system=system,
        target_system=system,
        outcome=outcome,
        error_code=error_code,
        error_message=error_message,
        payload=item,
        occurred_at=occurred_at or timezone.now(),
    )


def pull_event(system, run, kind, outcome, error_code="", error_message="", payload=None):
    """An (unsaved) event for a pull as a whole: record type ``pull``, external id the kind pulled."""
    return SyncEvent(
        workspace_id=system.workspace_id,
        event_id=f"pull:{system.pk}:run:{run.pk}:{outcome}",
        run=run,
        record_type=PULL_RECORD_TYPE,
        external_id=kind.name,
        source_system=system,
        target_system=system,
        outcome=outcome,
        error_code=error_code[:80],
        error_message=error_message,
        payload=payload,
        occurred_at=timezone.now(),
    )


def store_events(workspace, events):
    """Store the events not stored yet (by event id); returns those that are new."""
    unique = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    stored = set(
        SyncEvent.objects.for_workspace(workspace).filter(event_id__in=list(unique)).values_list("event_id", flat=True)
    )
    new_events = [event for event_id, event in unique.items() if event_id not in stored]
    # ignore_conflicts covers a pull of the same records running at the same time.
    SyncEvent.objects.bulk_create(new_events, ignore_conflicts=True, batch_size=1000)
    sync_failures.on_sync_events(workspace, new_events)  # failed records open exceptions, as on ingest
    return new_events
