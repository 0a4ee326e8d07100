"""Storing sync events, what happened to each record in a run: the one writer every entry point uses.

The ingest API (``ingest_sync_events``), scheduled pulls and anything else that records events call
``store_events``: it skips the events already stored, writes the rest and hands the new ones to the
exception queues, all in one transaction.
"""

import orjson
from django.db import connection, transaction
from django.utils import timezone

from opsview.ingest.batches import BatchRejected, check_systems, items_of
from opsview.ingest.fields import clean_item
from opsview.ingest.schemas import SYNC_EVENT
from opsview.queues import sync_failures
from opsview.systems.models import System
from opsview.telemetry.models import Outcome, SyncEvent, SyncRun

# On PostgreSQL a batch is written by this one statement. The events travel as one JSON document
# (encoded by orjson in C) that PostgreSQL unpacks with jsonb_to_recordset; ON CONFLICT ... DO NOTHING
# skips events already stored and RETURNING says which were new (the exception queues look at those).
# It replaces a duplicate pre-check query, one model instance per event and Django's quoting of 14
# values per row, which took most of a request's time (measured with bench/ingest.py); it also counts
# exactly what was created when two senders race.
INSERT_EVENTS = """
INSERT INTO telemetry_syncevent (
    workspace_id, event_id, run_id, record_type, external_id, source_system_id, target_system_id,
    outcome, error_code, error_message, payload, correlation_id, occurred_at, received_at
)
SELECT %s, event_id, run, record_type, external_id, source_system, target_system,
       outcome, error_code, error_message, payload, correlation_id, occurred_at, %s
FROM jsonb_to_recordset(%s::jsonb) AS item(
    event_id text, run bigint, record_type text, external_id text, source_system bigint, target_system bigint,
    outcome text, error_code text, error_message text, payload jsonb, correlation_id text, occurred_at timestamptz
)
ON CONFLICT (workspace_id, event_id) DO NOTHING
RETURNING id, event_id
"""


def sync_event(
    *,
    event_id,
    record_type,
    external_id,
    source_system,
    target_system,
    outcome,
    occurred_at,
    run=None,
    error_code="",
    error_message="",
    payload=None,
    correlation_id="",
):
    """One event as ``store_events`` takes it: a dict, systems and run by id, ``occurred_at`` a datetime.

    An ingest item, once cleaned and its system slugs turned into ids, has the same shape.
    """
    return {
        "event_id": event_id,
        "run": run,
        "record_type": record_type,
        "external_id": external_id,
        "source_system": source_system,
        "target_system": target_system,
        "outcome": outcome,
        "error_code": error_code,
        "error_message": error_message,
        "payload": payload,
        "correlation_id": correlation_id,
        "occurred_at": occurred_at,
    }


def store_events(workspace, events):
    """Store a batch of sync events of ``workspace`` and open or resolve exceptions from the new ones.

    ``events`` are dicts shaped as ``sync_event`` makes them, already valid. The first of several with
    the same event id is the one stored; events already stored are left as they are, so a batch may be
    stored again safely. Events and exceptions commit together, in the caller's transaction if there is
    one: if detection failed alone, a resent batch would be all duplicates and its exceptions would
    never open. Returns the new events, as the exception queues read them.
    """
    unique = {}
    for event in events:
        unique.setdefault(event["event_id"], event)
    if not unique:
        return []
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_portable
    # No savepoint inside a caller's transaction (a pull stores its page, records and cursor in one): it
    # would cost two more queries per batch, and a failure here rolls the caller's whole transaction back.
    with transaction.atomic(savepoint=False):
        new_events = insert(workspace, unique, timezone.now())
        sync_failures.on_sync_events(workspace, new_events)
    return new_events


def _insert_postgresql(workspace, unique, now):
    """Insert the new events in one statement; return them as ``StoredEvent``s."""
    # isoformat() keeps the offset exactly as sent (orjson would drop an offset's seconds).
    rows = [{**event, "occurred_at": event["occurred_at"].isoformat()} for event in unique.values()]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS, [workspace.pk, now, orjson.dumps(rows).decode()])
        new = cursor.fetchall()
    return [sync_failures.StoredEvent.of(pk, unique[event_id], unique[event_id]["occurred_at"]) for pk, event_id in new]


def _insert_portable(workspace, unique, now):
    """Any other database (SQLite): skip the events already stored, bulk-create the rest; return those."""
    stored = set(
        SyncEvent.objects.for_workspace(workspace).filter(event_id__in=list(unique)).values_list("event_id", flat=True)
    )
    new_events = [
        SyncEvent(
            workspace=workspace,
            event_id=event_id,
            run_id=event["run"],
            record_type=event["record_type"],
            external_id=event["external_id"],
            source_system_id=event["source_system"],
            target_system_id=event["target_system"],
            outcome=event["outcome"],
            error_code=event["error_code"],
            error_message=event["error_message"],
            payload=event["payload"],
            correlation_id=event["correlation_id"],
            occurred_at=event["occurred_at"],
            received_at=now,
        )
        for event_id, event in unique.items()
        if event_id not in stored
    ]
    # ignore_conflicts covers a concurrent writer of the same events.
    SyncEvent.objects.bulk_create(new_events, ignore_conflicts=True, batch_size=1000)
    return new_events


def ingest_sync_events(token, body):
    """Check a batch of sync events sent by ``token``'s system and store it, all or nothing.

    Events already stored (same ``event_id``) are counted as duplicates and left as they are, so a job
    may resend a batch safely. Raises ``BatchRejected`` listing every invalid item, writing nothing.
    """
    items = items_of(body)
    workspace = token.workspace
    # slug -> id: all that validation and the insert need, without loading System rows.
    systems = dict(System.objects.for_workspace(workspace).values_list("slug", "pk"))
    errors, valid = [], []
    for index, item in enumerate(items):
        before = len(errors)
        cleaned = clean_item(SYNC_EVENT, item, errors, index)
        if cleaned is None or len(errors) > before:
            continue
        check_systems(token, cleaned, systems, errors, index)
        if cleaned.get("outcome") == Outcome.FAILED and not (cleaned.get("error_code") or cleaned.get("error_message")):
            errors.append({"index": index, "field": "error_message", "message": "a failed event needs an error"})
        if len(errors) == before:
            valid.append((index, cleaned))

    run_ids = {c["run"] for _, c in valid if c["run"] is not None}
    if run_ids:
        known = set(
            SyncRun.objects.for_workspace(workspace)
            .filter(id__in=run_ids, reported_by=token.system)
            .values_list("id", flat=True)
        )
        for index, cleaned in valid:
            if cleaned["run"] is not None and cleaned["run"] not in known:
                errors.append(
                    {"index": index, "field": "run", "message": f"no sync run {cleaned['run']} reported by this system"}
                )
    errors.extend(_payloads_with_nul(valid))
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise BatchRejected(errors, len(items))

    for _, cleaned in valid:  # the cleaned dicts are ours: give them the systems' ids in place
        cleaned["source_system"] = systems[cleaned["source_system"]]
        cleaned["target_system"] = systems[cleaned["target_system"]]
    # A savepoint of its own: a failed batch leaves a surrounding transaction usable, as a rejected one does.
    with transaction.atomic():
        created = len(store_events(workspace, [cleaned for _, cleaned in valid]))
    return {"received": len(items), "created": created, "duplicates": len(items) - created}


def _payloads_with_nul(valid):
    """PostgreSQL's jsonb cannot hold NUL, so no backend takes it: name the items whose payload has one."""
    if b"\\u0000" not in orjson.dumps([c["payload"] for _, c in valid]):  # one C call for the common case
        return []
    return [
        {"index": index, "field": "payload", "message": "must not contain the NUL character (\\u0000)"}
        for index, c in valid
        if b"\\u0000" in orjson.dumps(c["payload"])
    ]
