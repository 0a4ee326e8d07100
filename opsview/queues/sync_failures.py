"""Exceptions from sync events: failures open (or reopen) them, later successes resolve them.

``on_sync_events`` is called by ingest right after a batch is stored. Only two
things cost anything: failed events, and successes of records that have a
pending exception (one indexed lookup per batch finds those).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter

import orjson
from django.db import connection
from django.db.models import Exists, F, OuterRef

from opsview.common import sqlarrays
from opsview.common.sqlarrays import AnyText
from opsview.queues.classify import classify, fingerprint, normalize_message
from opsview.queues.models import PENDING, ExceptionItem, Kind, Status
from opsview.queues.policies import policies_for
from opsview.queues.rowupdates import insert_new, update_each
from opsview.queues.stakes import refresh_stakes
from opsview.queues.tracking import (
    GroupSpec,
    describe,
    ensure_groups,
    record_values,
    reopen_recurring,
    resolve_automatically,
    sync_key,
    value_from_payload,
)
from opsview.systems.models import System
from opsview.telemetry.models import Outcome, SyncEvent


@dataclass(slots=True)
class StoredEvent:
    """What detection reads of a sync event just stored. Ingest on PostgreSQL writes events with one SQL
    statement and builds these instead of model instances; ``SyncEvent`` rows have the same attributes."""

    pk: int
    event_id: str
    record_type: str
    external_id: str
    source_system_id: int
    target_system_id: int
    outcome: str
    error_code: str
    error_message: str
    payload: object
    occurred_at: datetime

    @classmethod
    def of(cls, pk, cleaned, occurred_at):
        """From an ingest item as cleaned, its systems already resolved to ids."""
        return cls(
            pk,
            cleaned["event_id"],
            cleaned["record_type"],
            cleaned["external_id"],
            cleaned["source_system"],
            cleaned["target_system"],
            cleaned["outcome"],
            cleaned["error_code"],
            cleaned["error_message"],
            cleaned["payload"],
            occurred_at,
        )


class NewException:
    """A new exception as ``record_failures`` builds it: the values ``rowupdates.insert_new`` writes, at a
    fraction of a model instance's cost (a batch of month-end failures builds hundreds)."""

    pk = None
    DEFAULTS = {
        "status": Status.OPEN,
        "title": "",
        "search_text": "",
        "amount": Decimal(0),
        "currency": "",
        "record_date": None,
        "recurrences": 0,
        "resolution": "",
        "resolution_note": "",
        "project_id": None,
        "client_id": None,
    }

    def __init__(self, **values):
        self.__dict__.update(self.DEFAULTS)
        self.__dict__.update(values)

    @property
    def record_ref(self):
        return (self.source_system_id, self.record_type, self.external_id)


STORED_FIELDS = tuple(StoredEvent.__dataclass_fields__)
REPLAY_CHUNK = 1000


def replay_stored(workspace, chunk=REPLAY_CHUNK):
    """Run detection over the sync events ``workspace`` has stored, oldest first, ``chunk`` at a time, as ingest
    would have when they arrived: what ``manage.py backfill_queues`` does. Returns the number of events read.

    Only events that can change an exception are read: every failure, and the successes of a record and
    target that failed at least once or has a pending exception. A success of any other record finds no
    exception to resolve, and skipped events count nowhere: at a year's scale those are nineteen events in
    twenty, and reading them was nearly all the work.
    """
    same_track = {
        "workspace_id": workspace.pk,
        "record_type": OuterRef("record_type"),
        "external_id": OuterRef("external_id"),
        "source_system_id": OuterRef("source_system_id"),
    }
    failed = SyncEvent.objects.filter(
        **same_track, target_system_id=OuterRef("target_system_id"), outcome=Outcome.FAILED
    )
    pending = ExceptionItem.objects.filter(**same_track, system_id=OuterRef("target_system_id"), status__in=PENDING)
    stored = SyncEvent.objects.for_workspace(workspace).values_list(*STORED_FIELDS).order_by()
    # Three parts that never share an event, each a semi- or anti-join the database can hash.
    events = stored.filter(outcome=Outcome.FAILED).union(
        stored.filter(Exists(failed), outcome=Outcome.SUCCEEDED),
        stored.filter(~Exists(failed), Exists(pending), outcome=Outcome.SUCCEEDED),
        all=True,
    )
    read, batch = 0, []
    for row in events.order_by("occurred_at", "pk").iterator(chunk_size=chunk):
        batch.append(StoredEvent(*row))
        if len(batch) == chunk:
            on_sync_events(workspace, batch)
            read, batch = read + len(batch), []
    if batch:
        on_sync_events(workspace, batch)
        read += len(batch)
    return read


def key_of(event):
    return sync_key(event.source_system_id, event.target_system_id, event.record_type, event.external_id)


def on_sync_events(workspace, events, successes=None):
    """Turn a stored batch of sync events into exception changes. Failures first, so that a success
    later in the same batch resolves what an earlier failure opened.

    The outbox's drain on PostgreSQL gives the batch's failures as ``events`` and its successes as the database
    sums them up (``Successes``): the nine events in ten that succeed, nearly all of which resolve nothing, never
    travel to Python.
    """
    failed = [e for e in events if e.outcome == Outcome.FAILED]
    if successes is None:
        successes = [e for e in events if e.outcome == Outcome.SUCCEEDED]
    revalued = set()
    if failed:
        revalued |= record_failures(workspace, failed)
    if successes:
        revalued |= resolve_succeeded(workspace, successes)
    refresh_stakes(workspace.pk, revalued)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Successes:
    """Successes as the database sums them up: ``keys``, the key of each success, as one array literal
    (``sqlarrays.TEXTS``) that the look-up of their pending exceptions takes back as it is, and ``micros``, a JSON
    object of each success's key and time in microseconds since the epoch, in the order they happened. JSON is read
    as Python reads it, the last value of a repeated key kept: each key's latest success. Only read when a key has a
    pending exception."""

    keys: str
    micros: str

    def pending(self, workspace):
        """The pending exceptions of these keys, and the latest success of each one's key."""
        pending = list(ExceptionItem.objects.raw(PENDING_BY_KEY, [workspace.pk, self.keys]))
        micros = orjson.loads(self.micros) if pending else {}
        return pending, {item.key: EPOCH + timedelta(microseconds=micros[item.key]) for item in pending}


def resolve_succeeded(workspace, events):
    """Resolve the pending exceptions of records that succeeded since they last failed; returns those records.
    ``events`` are the successes, or ``Successes``."""
    if isinstance(events, Successes):
        pending, latest = events.pending(workspace)
    else:
        latest = {}
        for event in events:
            key = key_of(event)
            if key not in latest or event.occurred_at > latest[key]:
                latest[key] = event.occurred_at
        pending = _pending_with_keys(workspace, list(latest))
    # A success older than the last failure (delivered late) says nothing about the record now.
    fine = [item for item in pending if latest[item.key] >= item.last_seen_at]
    resolve_automatically(
        workspace, fine, {item.pk: latest[item.key] for item in fine}, "The record succeeded in a later sync."
    )
    return {item.record_ref for item in fine}


PENDING_BY_KEY = f"""
SELECT id, key, status, last_seen_at, source_system_id, record_type, external_id FROM queues_exceptionitem
WHERE workspace_id = %s AND key = ANY({sqlarrays.TEXTS}) AND status IN ('open', 'snoozed')
"""


def _pending_with_keys(workspace, keys):
    """Pending exceptions among ``keys``. On PostgreSQL the keys travel as one parameter (``common.sqlarrays``):
    a batch's 500 keys as 500 query parameters cost more to build and send than the lookup itself."""
    if connection.vendor == "postgresql":
        return list(ExceptionItem.objects.raw(PENDING_BY_KEY, [workspace.pk, sqlarrays.texts(keys)]))
    return list(
        ExceptionItem.objects.for_workspace(workspace)
        .pending()
        .filter(key__in=keys)
        .only("id", "key", "status", "last_seen_at", "source_system_id", "record_type", "external_id")
    )


def event_pks(workspace, events):
    """``{event_id: pk}`` of stored ``events``; SQLite's bulk insert leaves their pk unknown."""
    missing = [e.event_id for e in events if e.pk is None]
    if not missing:
        return {e.event_id: e.pk for e in events}
    return dict(SyncEvent.objects.for_workspace(workspace).filter(event_id__in=missing).values_list("event_id", "id"))


def record_failures(workspace, events):
    """Open, update or reopen the exceptions of failed ``events``; returns the records whose exceptions opened,
    reopened or changed more than their counters (what money at stake may have moved for)."""
    systems = {s.id: s for s in System.objects.for_workspace(workspace)}
    event_ids = event_pks(workspace, events)
    policies = policies_for(workspace)
    by_key = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        by_key.setdefault(key_of(event), []).append(event)

    specs, spec_of_key, classified = {}, {}, {}
    for key, evs in by_key.items():
        last = evs[-1]
        target = systems[last.target_system_id]
        cache_key = (target.id, last.record_type, last.error_code, last.error_message)
        if cache_key not in classified:
            c = classify(last.error_code, last.error_message, target.kind)
            fp = fingerprint(target.id, last.record_type, last.error_code, last.error_message, c.mapping_value)
            classified[cache_key] = fp
            specs.setdefault(fp, _spec(fp, c, target, last))
        spec_of_key[key] = classified[cache_key]
    seen_at = max(e.occurred_at for e in events)
    groups = ensure_groups(workspace, specs, seen_at)

    values = record_values(
        workspace, {(evs[-1].source_system_id, evs[-1].record_type, evs[-1].external_id) for evs in by_key.values()}
    )
    existing = {x.key: x for x in ExceptionItem.objects.for_workspace(workspace).filter(AnyText(F("key"), by_key))}
    to_create, to_update, repeats, recurring = [], [], [], []
    for key, evs in by_key.items():
        last = evs[-1]
        group = groups[spec_of_key[key]]
        value = values.get((last.source_system_id, last.record_type, last.external_id)) or value_from_payload(
            last.payload
        )
        item = existing.get(key)
        if item is None:
            item = NewException(
                workspace_id=workspace.pk,
                key=key,
                source_system_id=last.source_system_id,
                record_type=last.record_type,
                external_id=last.external_id,
                first_seen_at=evs[0].occurred_at,
                occurrences=0,
                sla_due_at=evs[0].occurred_at + policies[group.kind].sla,
            )
            to_create.append(item)
        elif last.occurred_at <= item.last_seen_at:
            continue  # delivered late: the exception already knows a newer failure
        elif item.status == Status.RESOLVED and (item.resolved_at is None or last.occurred_at > item.resolved_at):
            recurring.append(_snapshot(item))
        shape = _shape(item) if item.pk else None
        item.group_id = group.pk
        item.kind = group.kind
        item.system_id = last.target_system_id
        item.error_code = last.error_code
        item.error_message = last.error_message
        item.last_seen_at = last.occurred_at
        item.last_event_id = event_ids.get(last.event_id)
        item.occurrences += len(evs)
        _apply_value(item, value, last)
        if shape is None:
            continue
        if _shape(item) == shape:
            repeats.append(
                (item.pk, item.last_seen_at, item.last_event_id, len(evs), item.error_code, item.error_message)
            )
        else:
            to_update.append(item)
    # Rows are written in key and id order, so two batches touching the same records lock them in
    # the same order and never deadlock.
    to_create.sort(key=lambda item: item.key)
    insert_new(ExceptionItem, to_create)
    to_update.sort(key=lambda item: item.pk)
    update_each(
        ExceptionItem,
        UPDATED_COLUMNS,
        [(item.pk, *(getattr(item, name) for name, _ in UPDATED_COLUMNS)) for item in to_update],
        ", ".join(f"{name} = v.{name}" for name, _ in UPDATED_COLUMNS),
    )
    repeats.sort()
    # The common case: a record failing again for the same cause on every run. Only its counters and
    # the exact wording (ids, times) of its error move.
    update_each(
        ExceptionItem,
        [("seen", "datetime"), ("event", "bigint"), ("n", "integer"), ("code", "text"), ("message", "text")],
        repeats,
        "last_seen_at = v.seen, last_event_id = v.event, occurrences = occurrences + v.n, error_code = v.code, "
        "error_message = v.message",
    )
    reopen_recurring(workspace, recurring, seen_at, "The record failed again after being resolved.", policies)
    return {item.record_ref for item in (*to_create, *to_update, *recurring)}


# What a changed exception is written with: ``update_each`` spent 47 us of Python a row on 500 rows, ``bulk_update``
# 2.8 ms (a CASE per field per row).
UPDATED_COLUMNS = [
    ("group_id", "bigint"),
    ("kind", "text"),
    ("system_id", "bigint"),
    ("error_code", "text"),
    ("error_message", "text"),
    ("last_seen_at", "datetime"),
    ("last_event_id", "bigint"),
    ("occurrences", "integer"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("record_date", "date"),
    ("time_entry_id", "bigint"),
    ("invoice_id", "bigint"),
    ("project_id", "bigint"),
    ("client_id", "bigint"),
    ("title", "text"),
    ("search_text", "text"),
]


REPEAT_COLUMNS = ("last_seen_at", "last_event_id", "occurrences", "error_code", "error_message")
# What an exception says apart from its counters; unchanged on a plain repeat of its failure.
_shape = attrgetter(*(name for name, _ in UPDATED_COLUMNS if name not in REPEAT_COLUMNS))


def _snapshot(item):
    """The item as it was, for the audit entry of its reopening."""
    copy = ExceptionItem(
        pk=item.pk,
        workspace_id=item.workspace_id,
        source_system_id=item.source_system_id,
        record_type=item.record_type,
        external_id=item.external_id,
        kind=item.kind,
        status=item.status,
        resolution=item.resolution,
        recurrences=item.recurrences,
    )
    return copy


def _apply_value(item, value, event):
    item.amount = value.amount
    item.currency = value.currency or item.currency
    item.record_date = value.record_date or (item.record_date if item.pk else event.occurred_at.date())
    item.time_entry_id = value.time_entry_id
    item.invoice_id = value.invoice_id
    item.project_id = value.project_id or item.project_id
    item.client_id = value.client_id or item.client_id
    if value.facts or not item.title:  # a payload that names nothing keeps the name learnt before
        item.title, item.search_text = describe(item.record_type, item.external_id, value.facts, item.amount)


def _spec(fp, classification, target, event):
    message = event.error_message or event.error_code
    return GroupSpec(
        fingerprint=fp,
        kind=classification.kind,
        system_id=target.id,
        record_type=event.record_type,
        error_code=event.error_code,
        message=_group_message(message, classification),
        mapping_kind=classification.mapping_kind,
        mapping_value=classification.mapping_value[:200],
    )


def _group_message(message, classification):
    text = normalize_message(message)
    if classification.kind == Kind.MISSING_MAPPING and classification.mapping_value:
        # The unknown value is the cause: keep it readable even where it holds digits.
        return f"{text} — unknown value '{classification.mapping_value}'"[:500]
    return text
