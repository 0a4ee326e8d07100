"""Detection behind the response: the ingest API stores a batch and a note of its new events, and a
task worker opens and resolves their exceptions a moment later, many batches at a time.

Opening exceptions for a batch inside its own request cost about as much as storing it, mostly in
queries whose cost does not grow with the batch (the workspace's systems, policies, groups, the
records behind the failures); a drain does those once for many batches at a time
(measured with bench/ingest.py, which prints the delay as ``detect_lag_p99_ms``).

Nothing is lost and nothing is done twice: the note (a ``DetectionOutbox`` row) commits with the
batch's events, and it is marked done in the transaction that changes the exceptions. A worker that
dies mid-drain rolls that transaction back and leaves the notes pending for the next drain. Drains
take turns (an advisory lock on PostgreSQL; SQLite has one writer at a time anyway). A note that makes
detection fail is found by trying the notes one at a time; it stays pending, counted in ``failures``
and tried after the others, so that it holds no other batch's exceptions back.

A drain is asked for after each batch commits, at most one waiting at a time (``DRAIN_QUEUED`` in the
cache); the fixed schedule drains every minute too, should a request for one be lost with its process.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

import orjson
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from opsview.common import sqlarrays
from opsview.queues.models import DetectionOutbox
from opsview.queues.sync_failures import StoredEvent, event_pks, on_sync_events
from opsview.queues.tracking import PAYLOAD_FIELDS
from opsview.telemetry.models import Outcome, SyncEvent
from opsview.workspaces.models import Workspace

logger = logging.getLogger(__name__)

DRAIN_TASK = "opsview.queues.outbox.drain"
DRAIN_QUEUED = "queues:detection-drain-queued"
# Long enough for a queued drain to start on a busy cluster; if its task is lost, the next batch after
# this asks again (and the schedule drains in the meantime).
DRAIN_QUEUED_SECONDS = 30
# Events per drain transaction, about: enough to share the fixed costs, few enough to commit often.
DRAIN_EVENTS = 20_000
DRAIN_NOTES = 100
DRAIN_SECONDS = 60  # then the drain hands over to a new task, well inside the cluster's task timeout
# A drain waits this long before each transaction: at month-end rates a quarter of a second brings
# thousands of events into one (the fixed costs of a transaction then weigh little per event); a quiet
# batch waits for nothing but this.
DRAIN_GATHER_SECONDS = 0.25
KEEP_DONE = timedelta(days=1)  # done notes say how long detection took (bench/ingest.py reads them)
ADVISORY_LOCK = 0x6F70_7364  # one drain at a time, whatever the workspace

DETECTED = (Outcome.FAILED, Outcome.SUCCEEDED)  # what detection reads; skipped events change nothing


def defer(workspace, events):
    """Leave a note of ``events`` (just stored, in the caller's transaction) for a drain to detect from."""
    detected = [event for event in events if event.outcome in DETECTED]
    if detected:
        note(workspace, list(event_pks(workspace, detected).values()))


def note(workspace, event_ids):
    """Leave a note of the events ``event_ids`` (just stored, failed or succeeded) for a drain to detect from."""
    if not event_ids:
        return
    DetectionOutbox.objects.create(workspace=workspace, event_ids=event_ids)
    transaction.on_commit(request_drain)


def request_drain():
    """Queue a drain unless one is queued and has not started yet (it will see what committed before)."""
    if cache.add(DRAIN_QUEUED, True, DRAIN_QUEUED_SECONDS):
        # save=False: a success needs no row of its own in the task log, which costs more than a drain of one batch.
        async_task(DRAIN_TASK, group="detection", task_name="detect from ingested events", save=False)


def drain(seconds=DRAIN_SECONDS, gather=DRAIN_GATHER_SECONDS):
    """The task: detect from every pending note, a transaction at a time, at most one transaction every
    ``gather`` seconds, so that each covers what arrived meanwhile. Returns how many notes it did."""
    deadline = time.monotonic() + seconds
    done, wait = 0, gather
    while True:
        time.sleep(wait)
        started = time.monotonic()
        # From here on, a batch that commits asks for a drain of its own: this one may already be past it.
        cache.delete(DRAIN_QUEUED)
        try:
            drained = drain_once()
        except Exception:
            logger.exception("A detection drain failed; draining its notes one at a time")
            return done + drain_one_at_a_time()  # what fails waits for the next drain
        done += drained
        if not drained:
            return done
        if started > deadline:
            request_drain()
            return done
        wait = max(0.0, gather - (time.monotonic() - started))


def drain_one_at_a_time():
    """Drain the pending notes one transaction each, counting a failure on each note that fails alone."""
    done = 0
    pending = DetectionOutbox.objects.filter(done_at__isnull=True).order_by("failures", "id")
    for pk in list(pending.values_list("id", flat=True)[:DRAIN_NOTES]):
        try:
            done += drain_once(only=pk)
        except Exception:
            logger.exception("Detection failed on outbox note %s; it stays pending", pk)
            DetectionOutbox.objects.filter(pk=pk).update(failures=F("failures") + 1)
    return done


def drain_once(events=DRAIN_EVENTS, only=None):
    """Detect from the oldest pending notes (those that failed last), up to about ``events`` events, or
    from the note ``only``, and mark them done, in one transaction. Returns how many notes it did."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        pending = DetectionOutbox.objects.filter(done_at__isnull=True)
        if only is not None:
            pending = pending.filter(pk=only)
        pending = (
            pending.order_by("failures", "id").select_for_update().values_list("id", "workspace_id", "event_ids")
        )[:DRAIN_NOTES]
        notes, by_workspace, total = [], {}, 0
        for pk, workspace_id, ids in pending:
            if notes and total + len(ids) > events:
                break
            notes.append(pk)
            by_workspace.setdefault(workspace_id, []).extend(ids)
            total += len(ids)
        if not notes:
            return 0
        workspaces = Workspace.objects.in_bulk(list(by_workspace))
        for workspace_id, ids in sorted(by_workspace.items()):
            if workspace_id in workspaces:  # a workspace deleted since has nothing to detect
                on_sync_events(workspaces[workspace_id], stored_events(ids))
        DetectionOutbox.objects.filter(id__in=notes).update(done_at=timezone.now(), event_ids=None)
    return len(notes)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Of a payload, only what detection reads, and only for failures: successes need none.
STORED_EVENTS = f"""
SELECT id, event_id, record_type, external_id, source_system_id, target_system_id, outcome, error_code,
       error_message,
       CASE WHEN outcome = 'failed' AND jsonb_typeof(payload) = 'object' THEN
           (SELECT coalesce(jsonb_object_agg(key, value), '{{}}') FROM jsonb_each(payload) WHERE key = ANY(%s))
       WHEN outcome = 'failed' THEN payload END,
       (extract(epoch FROM occurred_at) * 1000000)::bigint
FROM telemetry_syncevent WHERE id = ANY({sqlarrays.BIGINTS})
"""


def stored_events(ids):
    """The events of ``ids`` as detection reads them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(STORED_EVENTS, [list(PAYLOAD_FIELDS), sqlarrays.bigints(ids)])
            rows = cursor.fetchall()
        # Microseconds since the epoch: exact, and a tenth of the cost of reading a timestamp per row.
        return [
            StoredEvent(
                *row[:9], None if row[9] is None else orjson.loads(row[9]), EPOCH + timedelta(microseconds=row[10])
            )
            for row in sorted(rows)
        ]
    rows = SyncEvent.objects.filter(id__in=ids).order_by("id")
    return [StoredEvent(*row) for row in rows.values_list(*StoredEvent.__slots__)]


def prune(keep=KEEP_DONE):
    """Forget notes done more than ``keep`` ago."""
    return DetectionOutbox.objects.filter(done_at__lt=timezone.now() - keep).delete()[0]


def drain_and_prune():
    """The schedule's task: drain what no request asked a drain for, and forget old notes."""
    drain()
    prune()
