"""Running a replay in a django-q2 worker: claim it, look it up, send it, read it back, record the outcome.

The claim is one conditional UPDATE (queued or retrying → running) whose row count says
whether this worker won: atomic on PostgreSQL (the second UPDATE waits for the first and
then finds the row running) and on SQLite (one writer at a time) alike, so a task delivered
twice, or two workers at once, send once. What a crash between sending and recording could
still repeat, the idempotency key makes harmless: the target recognises it.
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from connectors.errors import ConnectorError, NotSupported
from opsview.audit.trail import record
from opsview.common import masking
from opsview.queues.models import PENDING, ExceptionItem, Resolution, Status
from opsview.queues.policies import masked_fields_for
from opsview.replay import own_copy
from opsview.replay.models import CLAIMABLE, AttemptOutcome, Replay, ReplayAttempt, ReplayStatus
from opsview.systems.connection import connector_for

logger = logging.getLogger(__name__)
TASK = "opsview.replay.tasks.run_replay"


@dataclass
class Delivery:
    """What happened at the target."""

    ok: bool
    duplicate: bool = False
    verified: bool = False
    error_code: str = ""
    error_message: str = ""
    detail: dict = field(default_factory=dict)


def claim(replay_id):
    """Mark the replay running if it is waiting; True when this caller won it."""
    return bool(
        Replay.objects.filter(pk=replay_id, status__in=CLAIMABLE).update(
            status=ReplayStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, next_retry_at=None
        )
    )


# Failures of the connection (settings, credentials), not of the record: retrying cannot help.
CONNECTION_CODES = frozenset({"configuration_error", "authentication_failed", "http_401"})


def run_replay(replay_id, connector=None):
    """Run one replay; ``connector`` stands in for the target system's own (tests). Returns its status."""
    if not claim(replay_id):
        return "not claimed"  # another worker has it, or it is finished
    replay = Replay.objects.select_related("exception", "target_system__workspace", "requested_by").get(pk=replay_id)
    started = timezone.now()
    if replay.exception.status not in PENDING:
        message = f"The exception was {replay.exception.status} meanwhile; not sent."
        with transaction.atomic():
            _attempt(replay, started, AttemptOutcome.CANCELLED, Delivery(False, error_message=message))
            _finish(replay, ReplayStatus.CANCELLED, message)
        return replay.status
    try:
        with connector_for(replay.target_system, connector) as target:
            delivery = deliver(target, replay)
    except ConnectorError as error:
        delivery = Delivery(False, error_code=error.code, error_message=error.message)
    except Exception as error:  # a worker must record every failure, not lose the replay
        logger.exception("replay %s failed", replay_id)
        delivery = Delivery(False, error_code="internal_error", error_message=f"{type(error).__name__}: {error}")
    delivery = _without_masked_values(replay, delivery)
    if delivery.ok:
        _succeeded(replay, delivery, started)
    elif delivery.error_code in CONNECTION_CODES:
        _connection_failed(replay, delivery, started)
    else:
        _failed(replay, delivery, started)
    return replay.status


def _without_masked_values(replay, delivery):
    # A target may repeat the record it refused; its masked fields stay out of the stored, shown error.
    if not delivery.error_message:
        return delivery
    values = masking.sensitive_values(
        [replay.payload, replay.original_payload, replay.edited_payload], masked_fields_for(replay.workspace)
    )
    return replace(delivery, error_message=masking.redact(delivery.error_message, values)) if values else delivery


def deliver(target, replay):
    """Look the record up where the target can be asked; send it unless it is there; read it back."""
    try:
        existing = target.lookup(replay.record_type, replay.idempotency_key)
    except NotSupported:
        existing = None
    if existing is not None:
        return Delivery(True, duplicate=True, verified=True, detail={"found": existing})
    result = target.send(replay.record_type, replay.payload, replay.idempotency_key)
    if not result.ok:
        return Delivery(False, error_code=result.error_code, error_message=result.error_message, detail=result.detail)
    detail = {"external_id": result.external_id, **(result.detail or {})}
    verified = result.verified
    if not verified:
        try:
            back = target.read_back(replay.record_type, result.external_id or replay.external_id)
        except NotSupported:
            back = None
        if back is not None:
            verified, detail["read_back"] = True, back
    return Delivery(True, duplicate=bool(detail.get("already")), verified=verified, detail=detail)


def _attempt(replay, started, outcome, delivery):
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
    return ReplayAttempt.objects.create(
        workspace_id=replay.workspace_id,
        replay=replay,
        number=replay.attempts,
        started_at=started,
        finished_at=timezone.now(),
        request=request,
        response=delivery.detail or None,
        outcome=outcome,
        error_code=delivery.error_code[:80],
        error_message=delivery.error_message,
    )


def _succeeded(replay, delivery, started):
    item, now = replay.exception, timezone.now()
    system = replay.target_system
    if delivery.duplicate:
        status, resolution, outcome = ReplayStatus.DUPLICATE, Resolution.DUPLICATE, AttemptOutcome.DUPLICATE
        note = f"{system.name} already had this record; it was not sent again."
    else:
        status, resolution, outcome = ReplayStatus.SUCCEEDED, Resolution.REPLAYED, AttemptOutcome.SUCCEEDED
        note = f"Replayed to {system.name}" + ("; verified by reading it back." if delivery.verified else ".")
    with transaction.atomic():
        replay.verified, replay.result = delivery.verified, delivery.detail
        replay.last_error_code, replay.last_error = "", ""
        _attempt(replay, started, outcome, delivery)
        _finish(replay, status, "")
        resolved = ExceptionItem.objects.filter(pk=item.pk, status__in=PENDING).update(
            status=Status.RESOLVED,
            resolution=resolution,
            resolution_note=note,
            resolved_at=now,
            resolved_by=replay.requested_by,
            snoozed_until=None,
        )
        if resolved:
            record(
                system.workspace,
                replay.requested_by,
                "exception.resolve",
                item,
                before={"status": item.status, "resolution": item.resolution},
                after={"status": Status.RESOLVED, "resolution": resolution, "verified": delivery.verified},
                note=note,
            )
        if delivery.verified:
            own_copy.update_after_replay(replay, delivery.detail)
        system.record_connection(True, f"Replay {replay.pk} was accepted.")


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
    stale = list(
        Replay.objects.filter(status=ReplayStatus.RUNNING, started_at__lt=now - lease).values_list("pk", flat=True)
    )
    for pk in stale:
        if Replay.objects.filter(pk=pk, status=ReplayStatus.RUNNING).update(status=ReplayStatus.RETRYING):
            async_task(TASK, pk, group="replay", task_name=f"replay {pk} after a lost worker")
    # Queued a lease ago and never started: its task was lost with the broker (a Redis restarted empty).
    # Sending the task again is safe: if the first still comes, one of the two wins the claim.
    for pk in Replay.objects.filter(
        status=ReplayStatus.QUEUED, started_at__isnull=True, requested_at__lt=now - lease
    ).values_list("pk", flat=True):
        async_task(TASK, pk, group="replay", task_name=f"replay {pk} after a lost task")
    return len(stale)
