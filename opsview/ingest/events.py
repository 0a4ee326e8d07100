"""Storing sync events, what happened to each record in a run: the one writer every entry point uses.

The ingest API (``ingest_sync_events``), scheduled pulls and anything else that records events call
``store_events``: it skips the events already stored, writes the rest and hands the new ones to the
exception queues, all in one transaction.
"""

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb, set_json_dumps

from opsview.ingest.batches import BatchRejected, check_systems, items_of
from opsview.ingest.fields import clean_item, quick_clean
from opsview.ingest.schemas import SYNC_EVENT
from opsview.queues import outbox, sync_failures
from opsview.systems.models import System
from opsview.telemetry.models import Outcome, SyncEvent, SyncRun

# On PostgreSQL a batch is written with COPY, PostgreSQL's bulk loader, in its binary format: about a
# third less of the database's time per event than one INSERT ... SELECT FROM jsonb_to_recordset(...)
# and half the Python of COPY's text format (measured with bench/ingest.py). The events get their ids
# from the table's sequence first (detection needs them; COPY returns nothing). COPY cannot skip a
# duplicate: when the batch holds an event already stored (a resent batch, or another sender's
# at the same moment) the unique index refuses the COPY, and the batch is written again by the
# statement below, which skips what exists. Looking the events up first cost more, on every batch,
# than writing the rare resent one twice.
COPY_COLUMNS = (
    ("id", "bigint"),
    ("workspace_id", "bigint"),
    ("event_id", "text"),
    ("run_id", "bigint"),
    ("record_type", "text"),
    ("external_id", "text"),
    ("source_system_id", "bigint"),
    ("target_system_id", "bigint"),
    ("outcome", "text"),
    ("error_code", "text"),
    ("error_message", "text"),
    ("payload", "jsonb"),
    ("correlation_id", "text"),
    ("occurred_at", "timestamptz"),
    ("received_at", "timestamptz"),
)
COPY_EVENTS = f"COPY telemetry_syncevent ({', '.join(name for name, _ in COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# Named as a literal, the sequence is resolved once per statement rather than once per id.
NEW_EVENT_PKS = "SELECT array(SELECT nextval(%s::regclass) FROM generate_series(1, %s))"
_sequence = []
# The events travel as one JSON document that PostgreSQL unpacks with jsonb_to_recordset;
# ON CONFLICT ... DO NOTHING skips events already stored and RETURNING says which were new.
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


def store_events(workspace, events, detect_later=False):
    """Store a batch of sync events of ``workspace`` and open or resolve exceptions from the new ones.

    ``events`` are dicts shaped as ``sync_event`` makes them, already valid. The first of several with
    the same event id is the one stored; events already stored are left as they are, so a batch may be
    stored again safely. Events and exceptions commit together, in the caller's transaction if there is
    one: if detection failed alone, a resent batch would be all duplicates and its exceptions would
    never open. With ``detect_later`` what commits with the events is a note of them instead, which a
    task worker detects from shortly after (``opsview.queues.outbox``). Returns the new events, as the
    exception queues read them.
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
        if detect_later:
            outbox.defer(workspace, new_events)
        else:
            sync_failures.on_sync_events(workspace, new_events)
    return new_events


def _insert_postgresql(workspace, unique, now):
    """Insert the new events with COPY; return them as ``StoredEvent``s."""
    with connection.cursor() as cursor:
        if not _sequence:
            cursor.execute("SELECT pg_get_serial_sequence('telemetry_syncevent', 'id')")
            _sequence.append(cursor.fetchone()[0])
        cursor.execute(NEW_EVENT_PKS, [_sequence[0], len(unique)])
        pks = cursor.fetchone()[0]
    try:
        # COPY goes through psycopg's own cursor, whose errors Django does not wrap unless asked to.
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            _copy(cursor.cursor, workspace.pk, zip(pks, unique.values(), strict=True), now)
    except IntegrityError:  # some were stored already
        return _insert_skipping_stored(workspace, unique, now)
    stored_event = sync_failures.StoredEvent.of
    return [stored_event(pk, event, event["occurred_at"]) for pk, event in zip(pks, unique.values(), strict=True)]


def _copy(cursor, workspace_id, numbered, now):
    set_json_dumps(orjson.dumps, context=cursor)
    with cursor.copy(COPY_EVENTS) as copy:
        copy.set_types([kind for _, kind in COPY_COLUMNS])
        write = copy.write_row
        for pk, e in numbered:
            payload = e["payload"]
            write(
                (
                    pk,
                    workspace_id,
                    e["event_id"],
                    e["run"],
                    e["record_type"],
                    e["external_id"],
                    e["source_system"],
                    e["target_system"],
                    e["outcome"],
                    e["error_code"],
                    e["error_message"],
                    None if payload is None else Jsonb(payload),
                    e["correlation_id"],
                    e["occurred_at"],
                    now,
                )
            )


def _insert_skipping_stored(workspace, unique, now):
    """Insert in one statement that skips the events already stored; return the new ones."""
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
    events = _quick_events(token, items, systems)
    if events is None:  # something is wrong: find every problem and name it
        events = _checked_events(token, items, systems)
    # A savepoint of its own: a failed batch leaves a surrounding transaction usable, as a rejected one does.
    with transaction.atomic():
        created = len(store_events(workspace, events, detect_later=settings.INGEST_DETECTION == "outbox"))
    return {"received": len(items), "created": created, "duplicates": len(items) - created}


def _quick_events(token, items, systems):
    """The batch's events ready to store when every item is valid; None as soon as one is not."""
    events = quick_clean(SYNC_EVENT, items)
    if events is None:
        return None
    own, runs = token.system.slug, set()
    for event in events:
        source, target = event["source_system"], event["target_system"]
        if source not in systems or target not in systems or own not in (source, target):
            return None
        if event["outcome"] == Outcome.FAILED and not (event["error_code"] or event["error_message"]):
            return None
        event["source_system"], event["target_system"] = systems[source], systems[target]
        if event["run"] is not None:
            runs.add(event["run"])
    if runs and len(_runs_of(token, runs)) != len(runs):
        return None
    return events


def _runs_of(token, run_ids):
    """Those of ``run_ids`` that are sync runs reported by ``token``'s system."""
    runs = SyncRun.objects.for_workspace(token.workspace).filter(id__in=run_ids, reported_by=token.system)
    return set(runs.values_list("id", flat=True))


def _checked_events(token, items, systems):
    """Check every item field by field, raising ``BatchRejected`` with every problem; the events if none."""
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
        known = _runs_of(token, run_ids)
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
    return [cleaned for _, cleaned in valid]


def _payloads_with_nul(valid):
    """PostgreSQL's jsonb cannot hold NUL, so no backend takes it: name the items whose payload has one."""
    if b"\\u0000" not in orjson.dumps([c["payload"] for _, c in valid]):  # one C call for the common case
        return []
    return [
        {"index": index, "field": "payload", "message": "must not contain the NUL character (\\u0000)"}
        for index, c in valid
        if b"\\u0000" in orjson.dumps(c["payload"])
    ]
