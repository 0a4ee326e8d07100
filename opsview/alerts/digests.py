"""The daily digest: each member's alerts that waited for it, as one message per workspace, grouped by rule.

The hourly task sends a workspace's digests at the first run from ``DIGEST_HOUR`` o'clock in the
workspace's time zone. A member gets at most one digest a day (``Digest`` is unique per user and day)
and each waiting alert goes into exactly one: the digest claims its receipts with one conditional UPDATE.
"""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from opsview.alerts.models import Digest, How, Receipt, RuleKind
from opsview.alerts.rules import local_now
from opsview.notify.messages import Message
from opsview.notify.services import absolute_url, notify
from opsview.workspaces.models import Membership, Workspace

DIGEST_HOUR = 7


def waiting(workspace=None):
    receipts = Receipt.objects.filter(how=How.DIGEST, digest__isnull=True)
    return receipts.filter(workspace=workspace) if workspace is not None else receipts


def send_due_digests(now=None):
    """Send the digests of every workspace where it is ``DIGEST_HOUR`` or later; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for workspace in Workspace.objects.filter(pk__in=waiting().values("workspace_id")):
        if local_now(workspace, now).hour >= DIGEST_HOUR:
            sent += len(send_digests(workspace, now))
    return sent


def send_digests(workspace, now=None):
    """One digest per member with alerts waiting in ``workspace``, unless they had one today; returns them."""
    now = now or timezone.now()
    today = local_now(workspace, now).date()
    members = {m.user_id: m.user for m in Membership.objects.filter(workspace=workspace).select_related("user")}
    digests = []
    for user_id in sorted(set(waiting(workspace).values_list("user_id", flat=True))):
        if user_id in members and members[user_id].is_active:
            digest = _send_one(workspace, members[user_id], today, now)
            if digest is not None:
                digests.append(digest)
    return digests


def _send_one(workspace, user, today, now):
    with transaction.atomic():
        try:
            with transaction.atomic():
                digest = Digest.objects.create(workspace=workspace, user=user, local_date=today, sent_at=now)
        except IntegrityError:
            return None  # they had today's digest already; these alerts wait for tomorrow's
        waiting(workspace).filter(user=user).update(digest=digest)
        receipts = list(Receipt.objects.filter(digest=digest).select_related("alert__rule"))
        if not receipts:
            digest.delete()
            return None
        alerts = sorted((r.alert for r in receipts), key=_in_rule_order)
        deliveries = notify(workspace, digest_message(alerts, workspace), users=[user])
        digest.deliveries.add(*deliveries)
    return digest


KIND_ORDER = {kind: n for n, kind in enumerate(RuleKind.values)}


def _in_rule_order(alert):
    return (KIND_ORDER[alert.rule.kind], alert.rule.name, alert.rule_id, alert.fired_at, alert.pk)


def digest_message(alerts, workspace):
    """The digest of ``alerts`` (in rule order): a heading per rule, then each alert with its page."""
    lines, rule = [], None
    per_rule = {}
    for alert in alerts:
        per_rule[alert.rule_id] = per_rule.get(alert.rule_id, 0) + 1
    for alert in alerts:
        if alert.rule_id != rule:
            rule = alert.rule_id
            lines.append(f"{alert.rule.name} ({per_rule[rule]}):")
        lines.append(f"→ {alert.title}: {absolute_url(alert.link)}")
    count = len(alerts)
    return Message(
        subject=f"Daily digest: {count} alert{'s' if count != 1 else ''} in {workspace.name}",
        lines=tuple(lines),
        link=reverse("alerts"),
        link_label="See your alerts in opsview",
        topic=f"alert:digest:{workspace.slug}",
    )
