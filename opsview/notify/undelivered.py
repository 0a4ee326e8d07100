"""A delivery that failed its last attempt becomes an exception of kind alert_undelivered, in the queues.

Exceptions belong to a system; an undelivered alert belongs to opsview's own outgoing notifications, one
hidden system per workspace (``alerts_system``): not a connected system, so the systems pages leave it out
(``System.objects.connected()``) and nothing pulls or tests it.
"""

from django.db.models import F
from django.utils import timezone

from opsview.audit.trail import record
from opsview.queues.classify import fingerprint
from opsview.queues.models import PENDING, ExceptionItem, Kind, Status
from opsview.queues.policies import policies_for
from opsview.queues.stakes import refresh_stakes
from opsview.queues.tracking import GroupSpec, ensure_groups, reopen_recurring, resolve_automatically
from opsview.systems.models import OWN_VENDOR, System, SystemKind

ALERTS_SLUG = "opsview-alerts"
RECORD_TYPE = "alert"


def alerts_system(workspace):
    """The system that stands for opsview's own outgoing alerts in ``workspace``, made on first need."""
    system, _ = System.objects.get_or_create(
        workspace=workspace,
        slug=ALERTS_SLUG,
        defaults={"name": "opsview alerts", "kind": SystemKind.OTHER, "vendor": OWN_VENDOR, "is_active": False},
    )
    return system


def exception_key(delivery):
    return f"alert_undelivered:delivery:{delivery.pk}"


def _spec(system, delivery, code):
    if delivery.channel_id:
        channel = delivery.channel
        message = f"Alerts to {channel.get_kind_display()} channel '{channel.name}' are not delivered"
        # One group per channel, whatever each attempt's answer: the channel is what an admin fixes.
        fp = fingerprint(system.pk, RECORD_TYPE, "undelivered", message, cause=f"channel:{channel.pk}")
        return GroupSpec(fp, Kind.ALERT_UNDELIVERED, system.pk, RECORD_TYPE, "undelivered", message)
    message = f"Alert e-mails are not delivered ({code or 'mail error'})"
    fp = fingerprint(system.pk, RECORD_TYPE, code, message, cause="email")
    return GroupSpec(fp, Kind.ALERT_UNDELIVERED, system.pk, RECORD_TYPE, code[:80], message)


def title_of(delivery):
    return f"Alert '{delivery.subject}' not delivered to {delivery.recipient}"[:200]


def raise_undelivered(delivery, code, now=None):
    """Open (or reopen) the exception of ``delivery``, which failed its last attempt; returns it."""
    now = now or timezone.now()
    workspace = delivery.workspace
    system = alerts_system(workspace)
    key = exception_key(delivery)
    policies = policies_for(workspace)
    existing = ExceptionItem.objects.for_workspace(workspace).filter(key=key).first()
    error = {"error_code": (code or "undelivered")[:80], "error_message": delivery.last_error}
    if existing is not None:
        if existing.status in PENDING:
            ExceptionItem.objects.filter(pk=existing.pk).update(
                last_seen_at=now, occurrences=F("occurrences") + 1, **error
            )
        else:
            reopen_recurring(workspace, [existing], now, "The alert failed again after a retry.", policies)
            ExceptionItem.objects.filter(pk=existing.pk).update(**error)
            refresh_stakes(workspace.pk, [existing.record_ref])
        return ExceptionItem.objects.get(pk=existing.pk)
    spec = _spec(system, delivery, code or "")
    group = ensure_groups(workspace, {spec.fingerprint: spec}, now)[spec.fingerprint]
    title = title_of(delivery)
    words = [delivery.subject, delivery.recipient, delivery.topic, code]
    item = ExceptionItem.objects.create(
        workspace=workspace,
        key=key,
        group=group,
        kind=Kind.ALERT_UNDELIVERED,
        system=system,
        source_system=system,
        record_type=RECORD_TYPE,
        external_id=str(delivery.pk),
        title=title,
        search_text=" | ".join(w.strip().lower() for w in words if w and w.strip()),
        record_date=timezone.localdate(now),
        first_seen_at=now,
        last_seen_at=now,
        sla_due_at=now + policies[Kind.ALERT_UNDELIVERED].sla,
        **error,
    )
    record(
        workspace,
        None,
        "exception.open",
        item,
        after={"status": Status.OPEN, "delivery": delivery.pk, "attempts": delivery.attempts},
        note=f"Not delivered after {delivery.attempts} attempts: {delivery.last_error}"[:1000],
    )
    refresh_stakes(workspace.pk, [item.record_ref])
    return item


def resolve_delivered(delivery, now=None):
    """The delivery got through at last: its open exception, if any, resolves by itself."""
    items = list(
        ExceptionItem.objects.for_workspace(delivery.workspace)
        .pending()
        .filter(key=exception_key(delivery))
        .only("id", "key", "status", "source_system_id", "record_type", "external_id")
    )
    resolved = resolve_automatically(
        delivery.workspace, items, now or timezone.now(), "The alert was delivered on a later attempt."
    )
    refresh_stakes(delivery.workspace_id, [item.record_ref for item in items])
    return resolved
