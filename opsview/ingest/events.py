"""Ingesting sync events: what happened to each record in a run."""

import orjson
from django.db import connection, transaction
from django.utils import timezone

from opsview.ingest.batches import BatchRejected, check_systems, items_of
from opsview.ingest.fields import clean_item
from opsview.ingest.schemas import SYNC_EVENT
from opsview.queues import sync_failures
from opsview.systems.models import System
from opsview.telemetry.models import Outcome, SyncEvent, SyncRun

# On PostgreSQL a batch is written by this one statement. The cleaned items travel as one
# JSON document (encoded by orjson in C) that PostgreSQL unpacks with jsonb_to_recordset;
# ON CONFLICT ... DO NOTHING skips events already stored and RETURNING says which were
# new (the exception queues look at those). It replaces a duplicate pre-check query, one model instance per event and
# Django's quoting of 14 values per row, which took most of a request's time (measured with
# bench/ingest.py); it also counts exactly what was created when two senders race.
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


def ingest_sync_events(token, body):
    """Store a batch of sync events for the token's workspace, all or nothing.

    Events already stored (same ``event_id``) are counted as duplicates and
    left as they are, so a job may resend a batch safely.
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

    # The first of several items with the same event id is the one stored.
    unique = {}
    for _, cleaned in valid:
        unique.setdefault(cleaned["event_id"], cleaned)
    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_orm
    # The queue update commits with the events: if it failed alone, a resent batch would be all
    # duplicates and its exceptions would never open.
    with transaction.atomic():
        new_events = insert(workspace, systems, unique, timezone.now())
        sync_failures.on_sync_events(workspace, new_events)
    created = len(new_events)
    return {"received": len(items), "created": created, "duplicates": len(items) - created}


def _insert_postgresql(workspace, systems, unique, now):
    """Insert the new events in one statement; return the new ones, as the queues read them."""
    occurred = {}
    for c in unique.values():  # the cleaned dicts are ours: turn them into rows in place
        c["source_system"] = systems[c["source_system"]]
        c["target_system"] = systems[c["target_system"]]
        occurred[c["event_id"]] = c["occurred_at"]
        # isoformat() keeps the offset exactly as sent (orjson would drop an offset's seconds).
        c["occurred_at"] = c["occurred_at"].isoformat()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_EVENTS, [workspace.pk, now, orjson.dumps(list(unique.values())).decode()])
        new = cursor.fetchall()
    return [sync_failures.StoredEvent.of(pk, unique[event_id], occurred[event_id]) for pk, event_id in new]


def _payloads_with_nul(valid):
    """PostgreSQL's jsonb cannot hold NUL, so no backend takes it: name the items whose payload has one."""
    if b"\\u0000" not in orjson.dumps([c["payload"] for _, c in valid]):  # one C call for the common case
        return []
    return [
        {"index": index, "field": "payload", "message": "must not contain the NUL character (\\u0000)"}
        for index, c in valid
        if b"\\u0000" in orjson.dumps(c["payload"])
    ]


def _insert_orm(workspace, systems, unique, now):
    """The portable path (SQLite): skip the events already stored, bulk-create the rest; return those."""
    stored = set(
        SyncEvent.objects.for_workspace(workspace).filter(event_id__in=list(unique)).values_list("event_id", flat=True)
    )
    new_events = [
        SyncEvent(
            workspace=workspace,
            event_id=event_id,
            run_id=c["run"],
            record_type=c["record_type"],
            external_id=c["external_id"],
            source_system_id=systems[c["source_system"]],
            target_system_id=systems[c["target_system"]],
            outcome=c["outcome"],
            error_code=c["error_code"],
            error_message=c["error_message"],
            payload=c["payload"],
            correlation_id=c["correlation_id"],
            occurred_at=c["occurred_at"],
            received_at=now,
        )
        for event_id, c in unique.items()
        if event_id not in stored
    ]
    # ignore_conflicts covers a concurrent sender of the same events.
    SyncEvent.objects.bulk_create(new_events, ignore_conflicts=True, batch_size=1000)
    return new_events
