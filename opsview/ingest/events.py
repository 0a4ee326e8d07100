"""Storing sync events, what happened to each record in a run: the one writer every entry point uses.

The ingest API (``ingest_sync_events``), scheduled pulls and anything else that records events call
``store_events``: it skips the events already stored, writes the rest and hands the new ones to the
exception queues, all in one transaction.
"""

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

from opsview.api.parsers import UnparsedJSON
from opsview.ingest.batches import BatchRejected, check_systems, items_of
from opsview.ingest.fields import JsonText, clean_item, quick_clean, quick_decode
from opsview.ingest.schemas import SYNC_EVENT
from opsview.queues import outbox, sync_failures
from opsview.telemetry.models import Outcome, SyncEvent

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
    task worker detects from shortly after (``opsview.queues.outbox``). Returns how many events were new.
    """
    unique = {}
    for event in events:
        unique.setdefault(event["event_id"], event)
    if not unique:
        return 0
    # No savepoint inside a caller's transaction (a pull stores its page, records and cursor in one): it
    # would cost two more queries per batch, and a failure here rolls the caller's whole transaction back.
    with transaction.atomic(savepoint=False):
        if connection.vendor != "postgresql":
            new_events = _insert_portable(workspace, unique, timezone.now())
            if detect_later:
                outbox.defer(workspace, new_events)
            else:
                sync_failures.on_sync_events(workspace, new_events)
            return len(new_events)
        numbered = _insert_postgresql(workspace, unique, timezone.now())
        if detect_later:  # the note needs the ids alone
            outbox.note(workspace, [pk for pk, event in numbered if event["outcome"] in outbox.DETECTED])
            return len(numbered)
        new_events = [sync_failures.StoredEvent.of(pk, event, event["occurred_at"]) for pk, event in numbered]
        for new_event in new_events:
            new_event.payload = _parsed(new_event.payload)
        sync_failures.on_sync_events(workspace, new_events)
    return len(new_events)


def _insert_postgresql(workspace, unique, now):
    """Insert the new events with COPY; return them as ``(pk, event)``."""
    with connection.cursor() as cursor:
        if not _sequence:
            cursor.execute("SELECT pg_get_serial_sequence('telemetry_syncevent', 'id')")
            _sequence.append(cursor.fetchone()[0])
        cursor.execute(NEW_EVENT_PKS, [_sequence[0], len(unique)])
        pks = cursor.fetchone()[0]
    numbered = list(zip(pks, unique.values(), strict=True))
    try:
        # COPY goes through psycopg's own cursor, whose errors Django does not wrap unless asked to.
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            _copy(cursor.cursor, workspace.pk, numbered, now)
    except IntegrityError:  # some were stored already
        return _insert_skipping_stored(workspace, unique, now)
    return numbered


class PayloadDumper(Dumper):
    """A payload as COPY's binary jsonb: a version byte, then the JSON text it came in (``JsonText``) or its
    encoding. Cheaper than psycopg's own, which suits any JSON wrapper and encoder."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj):
        return b"\x01" + (obj if type(obj) is JsonText else orjson.dumps(obj))


def _copy(cursor, workspace_id, numbered, now):
    cursor.adapters.register_dumper(JsonText, PayloadDumper)  # for jsonb, the type COPY names
    with cursor.copy(COPY_EVENTS) as copy:
        copy.set_types([kind for _, kind in COPY_COLUMNS])
        write = copy.write_row
        for pk, e in numbered:
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
                    e["payload"],
                    e["correlation_id"],
                    e["occurred_at"],
                    now,
                )
            )


def _insert_skipping_stored(workspace, unique, now):
    """Insert in one statement that skips the events already stored; return the new ones as ``(pk, event)``."""
    # isoformat() keeps the offset exactly as sent (orjson would drop an offset's seconds).
    rows = [{**event, "occurred_at": event["occurred_at"].isoformat()} for event in unique.values()]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS, [workspace.pk, now, orjson.dumps(rows, default=_as_fragment).decode()])
        new = cursor.fetchall()
    return [(pk, unique[event_id]) for pk, event_id in new]


def _parsed(payload):
    """A payload as Python values, where ingest kept the JSON text it came in."""
    return orjson.loads(bytes(payload)) if type(payload) is JsonText else payload


def _as_fragment(value):
    if type(value) is JsonText:  # already JSON: embedded as it is
        return orjson.Fragment(bytes(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


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
            payload=_parsed(event["payload"]),
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

    ``body`` is the request's JSON, parsed or still ``UnparsedJSON``. Events already stored (same
    ``event_id``) are counted as duplicates and left as they are, so a job may resend a batch safely.
    Raises ``BatchRejected`` listing every invalid item, writing nothing.
    """
    workspace = token.workspace
    systems = _system_ids(workspace)
    events = None
    if isinstance(body, UnparsedJSON):
        events = _decoded_events(token, body.text, systems)
        if events is None:
            body = body.parsed()
    if events is None:
        items = items_of(body)
        events = _quick_events(token, quick_clean(SYNC_EVENT, items), systems)
        if events is None:  # something is wrong: find every problem and name it
            events = _checked_events(token, items, systems)
    # A savepoint of its own: a failed batch leaves a surrounding transaction usable, as a rejected one does.
    with transaction.atomic():
        created = store_events(workspace, events, detect_later=settings.INGEST_DETECTION == "outbox")
    return {"received": len(events), "created": created, "duplicates": len(events) - created}


def _decoded_events(token, text, systems):
    """The events of a batch's JSON ``text`` ready to store, payloads as their text, when all is valid; else None."""
    events = quick_decode(SYNC_EVENT, text)
    if events is None or len(events) > settings.INGEST_MAX_BATCH_ITEMS:
        return None
    return _quick_events(token, events, systems)


def _quick_events(token, events, systems):
    """``events`` (cleaned items, or None) ready to store when every one is valid; None as soon as one is not."""
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


# The two lookups every batch makes, written out: through the ORM, building each cost more CPU than
# PostgreSQL took to answer it (0.5 and 0.7 ms a request). Both are of the token's own workspace, as
# ``for_workspace`` would scope them.
SYSTEM_IDS = "SELECT slug, id FROM workspaces_system WHERE workspace_id = %s"
RUNS_OF_SYSTEM = "SELECT id FROM telemetry_syncrun WHERE workspace_id = %s AND reported_by_id = %s AND id IN ({})"


def _system_ids(workspace):
    """slug -> id of ``workspace``'s systems: all that validation and the insert need."""
    with connection.cursor() as cursor:
        cursor.execute(SYSTEM_IDS, [workspace.pk])
        return dict(cursor.fetchall())


def _runs_of(token, run_ids):
    """Those of ``run_ids`` that are sync runs reported by ``token``'s system."""
    run_ids = [int(run_id) for run_id in run_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            RUNS_OF_SYSTEM.format(", ".join(["%s"] * len(run_ids))), [token.workspace_id, token.system_id, *run_ids]
        )
        return {run_id for (run_id,) in cursor.fetchall()}


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
