"""Sending messages, and what admins do with channels and deliveries: permission-checked and audited.

``notify`` is what the alerts app calls: one Delivery per user (to their e-mail address) and per chat
channel, saved, then sent by a django-q2 task each (``tasks.send_delivery``).
"""

import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from opsview.audit.trail import record
from opsview.notify import render, signing, tasks
from opsview.notify.messages import Message
from opsview.notify.models import Channel, ChannelKind, Delivery, DeliveryStatus
from opsview.workspaces.models import Membership
from opsview.workspaces.permissions import ADMINISTER, require

ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)


class Refused(Exception):
    """An action that cannot be done as asked; its message says why, for the page."""


def absolute_url(path):
    """``path`` as a link a mail client or chat can open: OPSVIEW_BASE_URL in front of a path of this site."""
    if ABSOLUTE.match(path or ""):
        return path
    return settings.OPSVIEW_BASE_URL.rstrip("/") + "/" + (path or "").lstrip("/")


def _one_line(text, limit):
    return " ".join(str(text).split())[:limit]


def notify(workspace, message, *, users=(), channels=()):
    """One Delivery per user (e-mail to the user's address) and per chat channel, saved, then sent by a
    django-q2 task (at once where Q_CLUSTER runs sync, as in tests).

    Users who are no longer members of ``workspace`` and deactivated channels get nothing; a channel of
    another workspace is a programming error (ValueError).
    """
    link = absolute_url(message.link)
    subject = _one_line(message.subject, 255)
    lines = [str(line) for line in message.lines]
    label = _one_line(message.link_label, 80) or "Open in opsview"
    common = {
        "workspace": workspace,
        "topic": message.topic[:120],
        "subject": subject,
        "body": render.plain_text(workspace, subject, lines, link, label),
        "lines": lines,
        "link": link,
        "link_label": label,
        "max_attempts": max(1, settings.NOTIFY_MAX_ATTEMPTS),
    }
    users = list({user.pk: user for user in users}.values())
    members = set(
        Membership.objects.filter(workspace=workspace, user__in=[u.pk for u in users]).values_list("user_id", flat=True)
    )
    deliveries = [Delivery(user=user, address=user.email or "", **common) for user in users if user.pk in members]
    for channel in {channel.pk: channel for channel in channels}.values():
        if channel.workspace_id != workspace.pk:
            raise ValueError(f"Channel {channel.pk} belongs to another workspace.")
        if channel.is_active:
            deliveries.append(Delivery(channel=channel, address=channel.masked_url(), **common))
    with transaction.atomic():
        for delivery in deliveries:
            delivery.save()
        tasks.enqueue([d.pk for d in deliveries])
    return deliveries


CHANNEL_FIELDS = ("name", "kind", "is_active")


def save_channel(actor, channel, url="", secret="", new_secret=False):
    """Create or change a channel (admins only), audited with its diff; returns ``(channel, shown_secret)``.

    ``url`` and ``secret`` replace what is stored when given; empty keeps it. A new signed-webhook channel
    gets a generated secret unless one is typed, as does ``new_secret``; a generated secret is returned
    once, to be shown once. The audit says that the URL or secret changed, never their values.
    """
    require(actor, channel.workspace, ADMINISTER)
    creating = channel.pk is None
    before = None if creating else {f: getattr(Channel.objects.get(pk=channel.pk), f) for f in CHANNEL_FIELDS}
    if creating and not url:
        raise Refused("A new channel needs its webhook URL.")
    shown = None
    if channel.kind == ChannelKind.WEBHOOK and not secret and (new_secret or creating):
        secret = shown = signing.new_secret()
    if url or secret:
        channel.set_secrets(url=url or None, secret=secret or None)
    if creating:
        channel.created_by = actor
    after = {f: getattr(channel, f) for f in CHANNEL_FIELDS}
    if url:
        after["url_changed"] = True
    if secret:
        after["secret_changed"] = True
    if before == after:
        return channel, None
    channel.save()
    record(channel.workspace, actor, "channel.create" if creating else "channel.change", channel, before, after)
    return channel, shown


def deactivate_channel(actor, channel):
    """Stop sending to ``channel``; its deliveries stay in the log."""
    require(actor, channel.workspace, ADMINISTER)
    if channel.is_active:
        channel.is_active = False
        channel.save(update_fields=["is_active"])
        record(channel.workspace, actor, "channel.deactivate", channel, {"is_active": True}, {"is_active": False})
    return channel


def send_test(actor, channel):
    """Send a test message to ``channel`` through the same path as every alert; returns its Delivery."""
    require(actor, channel.workspace, ADMINISTER)
    if not channel.is_active:
        raise Refused(f"'{channel.name}' is deactivated; activate it with Edit before testing it.")
    message = Message(
        subject=f"Test message from opsview for {channel.workspace.name}",
        lines=(f"{actor.get_username()} sent this from Settings → Alerts to check the channel '{channel.name}'.",),
        link="/settings/alerts/deliveries/",
        link_label="Open the delivery log",
        topic="test",
    )
    (delivery,) = notify(channel.workspace, message, channels=[channel])
    record(channel.workspace, actor, "channel.test", channel, after={"delivery": delivery.pk})
    delivery.refresh_from_db()
    return delivery


def retry_delivery(actor, delivery):
    """Try a failed delivery once more, now; a success resolves its exception by itself."""
    require(actor, delivery.workspace, ADMINISTER)
    if delivery.status != DeliveryStatus.FAILED:
        raise Refused(
            f"Delivery {delivery.pk} is {delivery.get_status_display().lower()}; only a failed one is retried."
        )
    if delivery.channel_id and not delivery.channel.is_active:
        raise Refused(f"'{delivery.channel.name}' is deactivated; activate it with Edit, then retry.")
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.RETRYING, max_attempts=delivery.attempts + 1, next_attempt_at=timezone.now()
        )
        if not updated:
            raise Refused(f"Delivery {delivery.pk} is being retried already.")
        record(
            delivery.workspace,
            actor,
            "delivery.retry",
            delivery,
            before={"status": DeliveryStatus.FAILED, "attempts": delivery.attempts},
            after={"status": DeliveryStatus.RETRYING},
        )
        tasks.enqueue([delivery.pk])
    delivery.refresh_from_db()
    return delivery
