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

A drain is asked for after each batch commits, unless one is waiting or under way (``DRAIN_QUEUED`` in the
cache), and one drain loops at a time (``drain``); the fixed schedule drains every minute too, should a request
for one be lost with its process.
"""

import contextlib
import logging
import time
from datetime import timedelta

import orjson
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from opsview.common import sqlarrays
from opsview.queues.models import DetectionOutbox
from opsview.queues.sync_failures import EPOCH, StoredEvent, Successes, event_pks, on_sync_events
from opsview.queues.tracking import PAYLOAD_FIELDS, sync_key_sql
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
ADVISORY_LOCK = 0x6F70_7364  # one drain transaction at a time, whatever the workspace
LOOP_LOCK = ADVISORY_LOCK + 1  # one drain task looping at a time (``drain``)

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
    # Written out: the ORM's create cost three times this statement's CPU, on every ingest request.
    with connection.cursor() as cursor:
        cursor.execute(NEW_NOTE, [workspace.pk, orjson.dumps(event_ids).decode(), timezone.now()])
    transaction.on_commit(request_drain)


NEW_NOTE = "INSERT INTO queues_detectionoutbox (workspace_id, event_ids, created_at, failures) VALUES (%s, %s, %s, 0)"


def request_drain(again=False):
    """Queue a drain unless one is queued or under way (it will see what committed before); ``again``: whatever
    the cache says, for the drain that ends with notes still pending."""
    if again:
        cache.set(DRAIN_QUEUED, True, DRAIN_QUEUED_SECONDS)
    elif not cache.add(DRAIN_QUEUED, True, DRAIN_QUEUED_SECONDS):
        return
    # save=False: a success needs no row of its own in the task log, which costs more than a drain of one batch.
    async_task(DRAIN_TASK, group="detection", task_name="detect from ingested events", save=False)


def drain(seconds=DRAIN_SECONDS, gather=DRAIN_GATHER_SECONDS):
    """The task: detect from every pending note, a transaction at a time, at most one transaction every
    ``gather`` seconds, so that each covers what arrived meanwhile. Returns how many notes it did.

    One drain loops at a time. Batches that commit meanwhile ask for no other (``DRAIN_QUEUED`` stays set), and a
    drain that starts while one loops leaves at once: taking turns, two halved the gather (up to forty transactions
    for bench/ingest.py's 200,000 events instead of sixteen), and a task queued per batch cost the task cluster
    half as much CPU again as the draining. The loop that ends asks for the next drain itself when notes are
    pending, left when its time ran out or committed after its last look."""
    with _the_only_drain_loop() as alone:
        if not alone:
            return 0
        try:
            done = _drain_loop(seconds, gather)
        finally:
            # From here on, a batch that commits asks for a drain of its own: this one may be past it.
            cache.delete(DRAIN_QUEUED)
    if DetectionOutbox.objects.filter(done_at__isnull=True, failures=0).exists():
        # Left when its time ran out, or committed after its last look: a drain asked for then found this one looping.
        request_drain(again=True)
    return done


def _drain_loop(seconds, gather):
    deadline = time.monotonic() + seconds
    done, wait = 0, gather
    while True:
        time.sleep(wait)
        started = time.monotonic()
        try:
            drained = drain_once()
        except Exception:
            logger.exception("A detection drain failed; draining its notes one at a time")
            return done + drain_one_at_a_time()  # what fails waits for the next drain
        done += drained
        if not drained or started > deadline:
            return done
        wait = max(0.0, gather - (time.monotonic() - started))


@contextlib.contextmanager
def _the_only_drain_loop():
    """Whether this process holds the drain loop's lock (a session lock, let go on leaving or when the process
    dies); always on SQLite, which has one writer at a time anyway."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOOP_LOCK])
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOOP_LOCK])


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
                detect(workspaces[workspace_id], ids)
        DetectionOutbox.objects.filter(id__in=notes).update(done_at=timezone.now(), event_ids=None)
    return len(notes)


def detect(workspace, ids):
    """Open and resolve the exceptions of ``workspace``'s stored events ``ids``."""
    if connection.vendor == "postgresql":
        on_sync_events(workspace, *stored_outcomes(ids))
    else:
        on_sync_events(workspace, stored_events(ids))


# A time in microseconds since the epoch: exact, and a tenth of the cost of reading a timestamp per row.
MICROS = "(extract(epoch FROM {}) * 1000000)::bigint"
# In one pass over the events: the failures as detection reads them (of a payload, only what it reads), and the
# successes summed up (``sync_failures.Successes``), which is all detection needs of the nine events in ten that
# succeed. OFFSET 0 keeps the inner query whole, so that each success's key is built once for both aggregates.
STORED_OUTCOMES = f"""
SELECT
    (json_agg(json_build_array(
        id, event_id, record_type, external_id, source_system_id, target_system_id, outcome, error_code, error_message,
        CASE WHEN jsonb_typeof(payload) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(key, value), '{{}}') FROM jsonb_each(payload) WHERE key = ANY(%s))
        ELSE payload END,
        {MICROS.format("occurred_at")}
    ) ORDER BY id) FILTER (WHERE outcome = 'failed'))::text,
    (array_agg(track) FILTER (WHERE outcome = 'succeeded'))::text,
    (json_object_agg(track, {MICROS.format("occurred_at")} ORDER BY occurred_at)
        FILTER (WHERE outcome = 'succeeded'))::text
FROM (
    SELECT id, event_id, record_type, external_id, source_system_id, target_system_id, outcome, error_code,
           error_message, payload, occurred_at,
           CASE WHEN outcome = 'succeeded' THEN {sync_key_sql("telemetry_syncevent")} END AS track
    FROM telemetry_syncevent WHERE id = ANY({sqlarrays.BIGINTS}) AND id BETWEEN %s AND %s OFFSET 0
) AS stored
"""


def stored_outcomes(ids):
    """The failed events among ``ids`` as detection reads them, and their successes as ``Successes`` (PostgreSQL)."""
    with connection.cursor() as cursor:
        # The ids' bounds besides the ids: a batch's events have neighbouring ids, which the primary key then reads
        # as one range; given only the list, the planner scanned a small table whole (twice the time, bench/ingest.py).
        cursor.execute(STORED_OUTCOMES, [list(PAYLOAD_FIELDS), sqlarrays.bigints(ids), min(ids), max(ids)])
        failed, keys, micros = cursor.fetchone()
    failures = [StoredEvent(*row[:10], EPOCH + timedelta(microseconds=row[10])) for row in orjson.loads(failed or "[]")]
    return failures, Successes(keys, micros) if keys else None


def stored_events(ids):
    """The events of ``ids`` as detection reads them."""
    rows = SyncEvent.objects.filter(id__in=ids).order_by("id")
    return [StoredEvent(*row) for row in rows.values_list(*StoredEvent.__slots__)]


def prune(keep=KEEP_DONE):
    """Forget notes done more than ``keep`` ago."""
    return DetectionOutbox.objects.filter(done_at__lt=timezone.now() - keep).delete()[0]


def drain_and_prune():
    """The schedule's task: drain what no request asked a drain for, and forget old notes."""
    drain()
    prune()
