"""Sending one delivery in a django-q2 worker: claim it, send it, record the answer, retry or raise.

The claim is one conditional UPDATE on the attempt count the worker read, so a task delivered twice, or
two workers at once, make one attempt. A failed attempt schedules the next one after the backoff
(``NOTIFY_BACKOFF_SECONDS``); after the last one the delivery is failed and becomes an exception
(``undelivered``), which a later successful retry resolves.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from opsview.notify import render, signing, transport, undelivered
from opsview.notify.models import SENDABLE, ChannelKind, Delivery, DeliveryStatus
from opsview.systems.credentials import CredentialsUnreadable

logger = logging.getLogger(__name__)
TASK = "opsview.notify.tasks.send_delivery"
# Longer than any attempt takes (a webhook's or the mail server's timeout): a claim older than this was a
# worker's that died, and a delivery due this long ago lost its task.
LEASE = timedelta(minutes=5)


def enqueue(delivery_ids):
    """Queue one send task per delivery: at once with the ORM broker or a sync cluster, else after the commit."""
    if not delivery_ids:
        return
    broker = get_broker()

    def go():
        for pk in delivery_ids:
            async_task(TASK, pk, broker=broker, group="notify", task_name=f"alert delivery {pk}")

    if isinstance(broker, ORM) or Conf.SYNC:
        go()  # the tasks commit with the deliveries (ORM), or run here and now (sync)
    else:
        # Redis takes a task at once: sent before the commit, a worker could find no delivery to claim.
        transaction.on_commit(go)


def backoff(attempt):
    """Seconds to wait after failed attempt number ``attempt`` (1-based), from NOTIFY_BACKOFF_SECONDS."""
    steps = settings.NOTIFY_BACKOFF_SECONDS or [60]
    return steps[min(attempt, len(steps)) - 1]


def send_delivery(delivery_id):
    """Make the next attempt of one delivery; returns its status afterwards (or why nothing was sent)."""
    delivery = Delivery.objects.select_related("workspace", "channel", "user").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in SENDABLE or delivery.attempts >= delivery.max_attempts:
        return "not sendable"
    if delivery.next_attempt_at and delivery.next_attempt_at > timezone.now() + timedelta(seconds=5):
        return "not due"  # a second task for an attempt already made, whose next one waits for its backoff
    claimed = Delivery.objects.filter(pk=delivery.pk, status__in=SENDABLE, attempts=delivery.attempts).update(
        attempts=F("attempts") + 1, next_attempt_at=None, claimed_at=timezone.now()
    )
    if not claimed:
        return "not claimed"
    delivery.attempts += 1
    try:
        answer = deliver(delivery)
    except Exception as error:  # a worker records every failure rather than lose the delivery
        logger.exception("alert delivery %s failed", delivery.pk)
        answer = transport.Answer(False, error=f"opsview could not send it: {type(error).__name__}", code="internal")
    if answer.ok:
        _sent(delivery, answer)
    else:
        _failed(delivery, answer)
    return delivery.status


def deliver(delivery):
    """Render the delivery for its channel (or as an e-mail) and send it; the transport's ``Answer``."""
    workspace = delivery.workspace
    if delivery.channel_id is None:
        html = render.email_html(workspace, delivery)
        brand = render.branding(workspace)
        return transport.send_email(
            delivery.address, delivery.subject, delivery.body, html, brand["sender"], white_label=bool(brand["partner"])
        )
    channel = delivery.channel
    if not channel.is_active:
        return transport.Answer(False, error="The channel was deactivated.", code="deactivated", permanent=True)
    try:
        url, secret = channel.url, channel.secret
    except CredentialsUnreadable as problem:
        return transport.Answer(False, error=str(problem), code="credentials_unreadable", permanent=True)
    if not url:
        return transport.Answer(False, error="The channel has no webhook URL.", code="no_url", permanent=True)
    if channel.kind == ChannelKind.SLACK:
        return transport.post_json(url, render.encoded(render.slack_payload(workspace, delivery)))
    if channel.kind == ChannelKind.TEAMS:
        return transport.post_json(url, render.encoded(render.teams_payload(workspace, delivery)))
    if not secret:
        return transport.Answer(False, error="The channel has no signing secret.", code="no_secret", permanent=True)
    now = timezone.now()
    body = render.encoded(render.webhook_payload(workspace, delivery, now))
    # One id for every attempt of a message, so a receiver can drop a repeat (Standard Webhooks).
    headers = signing.headers(secret, f"msg_{delivery.uid.hex}", now.timestamp(), body)
    return transport.post_json(url, body, headers)


def _sent(delivery, answer):
    now = timezone.now()
    with transaction.atomic():
        delivery.status, delivery.sent_at, delivery.response_status = DeliveryStatus.SENT, now, answer.status
        delivery.next_attempt_at = delivery.claimed_at = None
        delivery.save(update_fields=["status", "sent_at", "response_status", "next_attempt_at", "claimed_at"])
        undelivered.resolve_delivered(delivery, now)


def _failed(delivery, answer):
    now = timezone.now()
    retry = not answer.permanent and delivery.attempts < delivery.max_attempts
    delivery.last_error, delivery.response_status = answer.error[:2000], answer.status
    delivery.claimed_at = None
    with transaction.atomic():
        if retry:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save(update_fields=["status", "next_attempt_at", "last_error", "response_status", "claimed_at"])
        if retry:
            schedule(
                TASK,
                delivery.pk,
                name=f"alert delivery {delivery.pk} attempt {delivery.attempts + 1}",
                schedule_type=Schedule.ONCE,
                next_run=delivery.next_attempt_at,
                repeats=-1,
            )
        elif answer.code != "deactivated":  # an admin turned the channel off: nothing to chase
            undelivered.raise_undelivered(delivery, answer.code, now)


def requeue_stale(now=None):
    """Deliveries whose worker died mid-attempt count it as failed (retried or raised as any failure);
    deliveries due for a while whose task was lost (a Redis restarted empty) are queued again.
    Returns how many of each: ``(taken_back, requeued)``."""
    now = now or timezone.now()
    sendable = Delivery.objects.filter(status__in=SENDABLE)
    taken_back = 0
    for delivery in sendable.filter(claimed_at__lt=now - LEASE).select_related("workspace", "channel", "user"):
        # The claim's own condition again: only this sweep records the lost attempt.
        if Delivery.objects.filter(pk=delivery.pk, claimed_at=delivery.claimed_at).update(claimed_at=None):
            lost = transport.Answer(False, error="The worker sending it stopped before an answer came.", code="lost")
            _failed(delivery, lost)
            taken_back += 1
    overdue = sendable.filter(claimed_at__isnull=True, attempts__lt=F("max_attempts")).filter(
        Q(next_attempt_at__lt=now - LEASE) | Q(next_attempt_at__isnull=True, created_at__lt=now - LEASE)
    )
    due = list(overdue.values_list("pk", flat=True))
    enqueue(due)
    return taken_back, len(due)
