"""Running replays in a django-q2 worker: claim them, look each up, send it, read it back, record the outcome.

Replays queued together travel as one task of up to ``REPLAY_BATCH_SIZE`` (``enqueue``): one transaction
claims the task's replays (``SELECT … FOR UPDATE`` of those still waiting, then marked running), one
query loads them, ``sending`` sends them (up to ``REPLAY_CONCURRENCY`` at a time, each thread keeping its
connectors and their connections for the task), and the successes are written together about once a
second, failures at once. A replay used to be a task of its own, with its own claim, load, HTTP client and
five writes: most of its cost against a fast target.

The claim is what makes a task delivered twice, or two workers at once, send once: a second claimer of
the same rows waits for the first's transaction and then finds them running (PostgreSQL), or waits for
the one writer (SQLite). What a crash between sending and recording could still repeat (a replay left
running is taken back after its lease, ``requeue_stale``), the idempotency key makes harmless: the
target recognises it. An exception is resolved only once the target has accepted its record.
"""

import math
import time
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from opsview.audit.trail import record, record_many
from opsview.common import masking
from opsview.queues.models import PENDING, ExceptionItem, Resolution, Status
from opsview.queues.policies import masked_fields_for
from opsview.queues.stakes import refresh_stakes
from opsview.replay import own_copy, sending
from opsview.replay.models import CLAIMABLE, AttemptOutcome, Replay, ReplayAttempt, ReplayStatus
from opsview.systems.models import System

TASK = "opsview.replay.tasks.run_replay"  # one replay: a retry's schedule
BATCH_TASK = "opsview.replay.tasks.run_replays"  # replays queued together
FLUSH_SECONDS = 1.0  # successes are written together at most this long after the first of them


def enqueue(replays):
    """Queue the tasks that run ``replays`` (``(pk, target_system_id)`` pairs, all waiting).

    One task per target system and up to ``REPLAY_BATCH_SIZE`` replays, smaller when there are fewer
    replays than that per worker, so every worker gets a share. With the ORM broker the tasks are
    written in the caller's transaction (none is queued for a replay never stored); Redis takes a task
    at once, so they are sent when it commits: sent before, a worker could run one before its replays
    are visible, find nothing to claim and drop it (bench/soak.py saw a third of them lost so).
    """
    by_system = defaultdict(list)
    for pk, system_id in replays:
        by_system[system_id].append(pk)
    chunks = []
    for pks in by_system.values():
        size = max(1, min(settings.REPLAY_BATCH_SIZE, math.ceil(len(pks) / max(1, int(Conf.WORKERS)))))
        chunks += [pks[i : i + size] for i in range(0, len(pks), size)]
    broker = get_broker()

    def send():
        for pks in chunks:
            name = f"replay {pks[0]}" if len(pks) == 1 else f"replays {pks[0]}-{pks[-1]} ({len(pks)})"
            async_task(BATCH_TASK, pks, broker=broker, group="replay", task_name=name)

    if isinstance(broker, ORM):
        send()
    else:
        transaction.on_commit(send)
    return len(chunks)


def claim(replay_ids):
    """Mark those of ``replay_ids`` that are waiting running, in one transaction; the ids this caller won."""
    with transaction.atomic():
        won = list(
            Replay.objects.select_for_update()
            .filter(pk__in=replay_ids, status__in=CLAIMABLE)
            .order_by("pk")  # every claimer locks in one order: two overlapping claims cannot deadlock
            .values_list("pk", flat=True)
        )
        if won:
            Replay.objects.filter(pk__in=won).update(
                status=ReplayStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, next_retry_at=None
            )
    return won


# Failures of the connection (settings, credentials), not of the record: retrying cannot help.
CONNECTION_CODES = frozenset({"configuration_error", "authentication_failed", "http_401"})


def run_replay(replay_id, connector=None):
    """Run one replay; ``connector`` stands in for the target system's own (tests). Returns its status."""
    return run_replays([replay_id], connector)[0]


def run_replays(replay_ids, connector=None):
    """Run the replays ``replay_ids``, each claimed, sent and recorded; returns their statuses in that order.

    A replay another worker has, or that is finished, is "not claimed". ``connector`` stands in for the
    target systems' own (tests). Sends start until a third of the task's time (django-q2's ``timeout``)
    has passed; the replays not started by then are queued again as a task of their own.
    """
    ids = list(dict.fromkeys(replay_ids))
    statuses = dict.fromkeys(ids, "not claimed")
    replays = _load(claim(ids), ids)
    sendable = []
    for replay in replays:
        if replay.exception.status in PENDING:
            sendable.append(replay)
        else:
            _cancelled(replay)
            statuses[replay.pk] = replay.status
    deadline = time.monotonic() + (Conf.TIMEOUT / 3 if Conf.TIMEOUT else math.inf)
    succeeded, not_started, first_success = [], [], None
    for replay, started, delivery in sending.deliveries(sendable, connector, deadline):
        if delivery is None:
            not_started.append(replay)
            continue
        delivery = _without_masked_values(replay, delivery)
        if delivery.ok:
            succeeded.append((replay, started, delivery))
            first_success = first_success or time.monotonic()
            if time.monotonic() - first_success >= FLUSH_SECONDS:
                _succeeded(succeeded)
                succeeded, first_success = [], None
        elif delivery.error_code in CONNECTION_CODES:
            _connection_failed(replay, delivery, started)
        else:
            _failed(replay, delivery, started)
    _succeeded(succeeded)
    if not_started:
        _release(not_started)
    for replay in sendable:
        statuses[replay.pk] = replay.status
    return [statuses[pk] for pk in ids]


def _load(pks, order):
    """The replays ``pks`` in the order of ``order``, with their exceptions, and their target systems (with
    workspaces) and requesters loaded once each, not once a row: a task's replays share them."""
    replays = list(Replay.objects.select_related("exception").filter(pk__in=pks))
    systems = System.objects.select_related("workspace").in_bulk({r.target_system_id for r in replays})
    people = get_user_model().objects.in_bulk({r.requested_by_id for r in replays} - {None})
    position = {pk: n for n, pk in enumerate(order)}
    for replay in replays:
        replay.target_system = systems[replay.target_system_id]
        replay.requested_by = people.get(replay.requested_by_id)
    return sorted(replays, key=lambda r: position[r.pk])


def _release(replays):
    """Replays claimed but not started before the task's time ran out: waiting again, in a task of their own."""
    with transaction.atomic():
        Replay.objects.filter(pk__in=[r.pk for r in replays], status=ReplayStatus.RUNNING).update(
            status=ReplayStatus.QUEUED, started_at=None, attempts=F("attempts") - 1
        )
        enqueue([(r.pk, r.target_system_id) for r in replays])
    for replay in replays:
        replay.status = ReplayStatus.QUEUED


def _cancelled(replay):
    message = f"The exception was {replay.exception.status} meanwhile; not sent."
    with transaction.atomic():
        _attempt(replay, timezone.now(), AttemptOutcome.CANCELLED, sending.Delivery(False, error_message=message))
        _finish(replay, ReplayStatus.CANCELLED, message)


def _without_masked_values(replay, delivery):
    # A target may repeat the record it refused; its masked fields stay out of the stored, shown error.
    if not delivery.error_message:
        return delivery
    values = masking.sensitive_values(
        [replay.payload, replay.original_payload, replay.edited_payload], masked_fields_for(replay.workspace)
    )
    return replace(delivery, error_message=masking.redact(delivery.error_message, values)) if values else delivery


def _attempt_row(replay, started, outcome, delivery):
    """The attempt on record: what was sent where, and what came back. Never a sync event (see ReplayAttempt)."""
    payload = replay.payload if isinstance(replay.payload, dict) else {}
    request = {
        "to": replay.target_system.name,
        "record_type": replay.record_type,
        "external_id": replay.external_id,
        "idempotency_key": replay.idempotency_key,
        "fields": sorted(payload),
        "edited": replay.edited_payload is not None,
    }
    return ReplayAttempt(
        workspace_id=replay.workspace_id,
        replay=replay,
        number=replay.attempts,
        started_at=started,
        finished_at=delivery.finished_at or timezone.now(),
        request=request,
        response=delivery.detail or None,
        outcome=outcome,
        error_code=delivery.error_code[:80],
        error_message=delivery.error_message,
    )


def _attempt(replay, started, outcome, delivery):
    row = _attempt_row(replay, started, outcome, delivery)
    row.save(force_insert=True)
    return row


def _succeeded(done):
    """Record ``done``, ``(replay, started, delivery)`` the target accepted, in one transaction: each replay
    succeeded (or found already there) with its attempt, its exception resolved and audited if still pending."""
    if not done:
        return
    now, attempts, resolving, systems = timezone.now(), [], defaultdict(list), {}
    for replay, started, delivery in done:
        system = systems[replay.target_system_id] = replay.target_system
        if delivery.duplicate:
            status, resolution, outcome = ReplayStatus.DUPLICATE, Resolution.DUPLICATE, AttemptOutcome.DUPLICATE
            note = f"{system.name} already had this record; it was not sent again."
        else:
            status, resolution, outcome = ReplayStatus.SUCCEEDED, Resolution.REPLAYED, AttemptOutcome.SUCCEEDED
            note = f"Replayed to {system.name}" + ("; verified by reading it back." if delivery.verified else ".")
        replay.status, replay.finished_at, replay.next_retry_at = status, now, None
        replay.verified, replay.result = delivery.verified, delivery.detail
        replay.last_error_code, replay.last_error = "", ""
        attempts.append(_attempt_row(replay, started, outcome, delivery))
        resolving[(replay.workspace_id, replay.requested_by_id, resolution, note, delivery.verified)].append(replay)
    with transaction.atomic():
        ReplayAttempt.objects.bulk_create(attempts)
        outcomes = defaultdict(list)
        for replay, _, _ in done:
            outcomes[(replay.status, replay.verified)].append(replay.pk)
        for (status, verified), pks in outcomes.items():
            Replay.objects.filter(pk__in=pks).update(
                status=status, verified=verified, finished_at=now, next_retry_at=None, last_error_code="", last_error=""
            )
        # Each its own answer; one field, as bulk_update's cost grows with the fields times the rows.
        Replay.objects.bulk_update([replay for replay, _, _ in done], ["result"])
        pending = {
            pk: (status, resolution)
            for pk, status, resolution in ExceptionItem.objects.select_for_update()
            .filter(pk__in=[replay.exception_id for replay, _, _ in done], status__in=PENDING)
            .order_by("pk")
            .values_list("pk", "status", "resolution")
        }
        resolved = {}  # workspace id -> the records whose exceptions the replays resolved
        for (_, _, resolution, note, verified), replays in resolving.items():
            replays = [replay for replay in replays if replay.exception_id in pending]
            if not replays:
                continue
            first = replays[0]
            ExceptionItem.objects.filter(pk__in=[r.exception_id for r in replays]).update(
                status=Status.RESOLVED,
                resolution=resolution,
                resolution_note=note,
                resolved_at=now,
                resolved_by=first.requested_by,
                snoozed_until=None,
            )
            after = {"status": Status.RESOLVED, "resolution": resolution, "verified": verified}
            record_many(
                first.target_system.workspace,
                first.requested_by,
                "exception.resolve",
                [
                    (r.exception, dict(zip(("status", "resolution"), pending[r.exception_id], strict=True)), after)
                    for r in replays
                ],
                note=note,
            )
            for replay in replays:
                exception = replay.exception
                resolved.setdefault(exception.workspace_id, set()).add(exception.record_ref)
        for workspace_id, records in resolved.items():
            refresh_stakes(workspace_id, records)
        for replay, _, delivery in done:
            if delivery.verified:
                own_copy.update_after_replay(replay, delivery.detail)
        last = {replay.target_system_id: replay for replay, _, _ in done}
        for system_id, replay in last.items():
            systems[system_id].record_connection(True, f"Replay {replay.pk} was accepted.")


def backoff(attempt):
    """Seconds to wait after failed attempt number ``attempt`` (1-based), from REPLAY_BACKOFF_SECONDS."""
    steps = settings.REPLAY_BACKOFF_SECONDS
    return steps[min(attempt, len(steps)) - 1]


def _connection_failed(replay, delivery, started):
    """Settings or credentials that do not work are the connection's fault, not the record's: stop at once."""
    system = replay.target_system
    detail = delivery.error_message or delivery.error_code
    note = f"{system.name} could not be used: {detail}. Fix its connection under Settings → Systems, then replay again."
    with transaction.atomic():
        replay.last_error_code, replay.last_error = delivery.error_code[:80], detail
        replay.result = delivery.detail or None
        _attempt(replay, started, AttemptOutcome.CONNECTION, delivery)
        _finish(replay, ReplayStatus.FAILED, "")
        system.record_connection(False, detail)
        record(
            system.workspace,
            None,
            "exception.replay_failed",
            replay.exception,
            after={"attempts": replay.attempts, "error": delivery.error_code},
            note=note,
        )


def _failed(replay, delivery, started):
    retry = replay.attempts < replay.max_attempts
    with transaction.atomic():
        replay.last_error_code, replay.last_error = delivery.error_code[:80], delivery.error_message
        replay.result = delivery.detail or None
        _attempt(replay, started, AttemptOutcome.FAILED, delivery)
        if retry:
            replay.next_retry_at = timezone.now() + timedelta(seconds=backoff(replay.attempts))
            replay.status = ReplayStatus.RETRYING
            replay.save()
            note = f"Attempt {replay.attempts} of {replay.max_attempts} failed; next try {replay.next_retry_at:%H:%M}."
        else:
            note = f"Attempt {replay.attempts} of {replay.max_attempts} failed; no more attempts. Fix and replay again."
            _finish(replay, ReplayStatus.FAILED, "")
        record(
            replay.target_system.workspace,
            None,
            "exception.replay_failed",
            replay.exception,
            after={"attempts": replay.attempts, "error": delivery.error_code or delivery.error_message[:80]},
            note=note,
        )
        if retry:
            schedule(
                TASK,
                replay.pk,
                name=f"replay {replay.pk} attempt {replay.attempts + 1}",
                schedule_type=Schedule.ONCE,
                next_run=replay.next_retry_at,
                repeats=-1,
            )


def _finish(replay, status, message):
    replay.status, replay.finished_at, replay.next_retry_at = status, timezone.now(), None
    if message:
        replay.last_error = message
    replay.save()


def requeue_stale(now=None):
    """Replays left running by a worker that died: waiting again (their attempt counted), queued now."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.REPLAY_LEASE_SECONDS)
    stale = Replay.objects.filter(status=ReplayStatus.RUNNING, started_at__lt=now - lease)
    taken = [
        (pk, system_id)
        for pk, system_id in stale.values_list("pk", "target_system_id")
        if Replay.objects.filter(pk=pk, status=ReplayStatus.RUNNING).update(status=ReplayStatus.RETRYING)
    ]
    # Queued a lease ago and never started: its task was lost with the broker (a Redis restarted empty).
    # Sending the task again is safe: if the first still comes, one of the two wins the claim.
    lost = Replay.objects.filter(status=ReplayStatus.QUEUED, started_at__isnull=True, requested_at__lt=now - lease)
    enqueue(taken + list(lost.values_list("pk", "target_system_id")))
    return len(taken)
