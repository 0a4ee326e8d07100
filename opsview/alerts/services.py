"""Checking the rules and sending what fires; what admins and members change (permission-checked, audited).

A rule's first check records what it finds as the state it starts from (``Alert.baseline``) and sends
nothing: a workspace with hundreds of open groups (the demo at its first start) does not mail hundreds
of messages; what appears afterwards alerts.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from opsview.alerts.models import Alert, How, Preference, Receipt, Rule, RuleKind
from opsview.alerts.rules import findings
from opsview.audit.trail import record, record_many
from opsview.notify.messages import Message
from opsview.notify.services import notify
from opsview.queues.models import ExceptionGroup
from opsview.workspaces.models import Membership
from opsview.workspaces.permissions import ADMINISTER, VIEW, require, role_of
from opsview.workspaces.roles import Role


def members_of(workspace):
    """``[(user, role)]`` of the workspace's active members: the only people its alerts ever go to."""
    memberships = Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
    return [(m.user, m.role) for m in memberships.order_by("user_id")]


def choices_of(workspace):
    """``{(user_id, rule_id): how}``: every choice members made in the workspace."""
    return {
        (user_id, rule_id): how
        for user_id, rule_id, how in Preference.objects.for_workspace(workspace).values_list(
            "user_id", "rule_id", "how"
        )
    }


def how_for(rule, role, choice):
    """How a member with ``role`` receives ``rule``: their choice, else the role's default; never when the
    rule does not name the role."""
    if role not in rule.roles:
        return How.OFF
    return choice or rule.default_how(role)


def audience(rule, alert, members, choices):
    """``[(user, how)]`` who receive ``alert``: the roles the rule names, as each chose; a project manager
    only an alert about their own projects."""
    found = []
    for user, role in members:
        how = how_for(rule, role, choices.get((user.pk, rule.pk)))
        if how == How.OFF or (role == Role.MANAGER and alert.manager_id != user.pk):
            continue
        found.append((user, how))
    return found


def message_of(alert):
    return Message(
        subject=alert.title,
        lines=tuple(alert.lines),
        link=alert.link,
        topic=f"alert:{alert.rule.kind}:{alert.subject_key}",
    )


def evaluate_workspace(workspace, now=None):
    """Check every active rule of the workspace; returns the alerts made (baseline ones included)."""
    now = now or timezone.now()
    members, choices = members_of(workspace), choices_of(workspace)
    made = []
    for rule in Rule.objects.for_workspace(workspace).filter(is_active=True):
        made += evaluate_rule(rule, now, members, choices)
    return made


def evaluate_rule(rule, now, members, choices):
    """Check one rule: record what fires, each member's receipt, and send the at-once ones and chat posts.

    The rule's row is locked for the check, so two workers checking at once never alert twice.
    """
    with transaction.atomic():
        rule = Rule.objects.select_for_update().select_related("workspace").filter(pk=rule.pk, is_active=True).first()
        if rule is None:
            return []
        first = rule.checked_at is None
        if first and rule.kind == RuleKind.NEW_GROUP:
            newest = ExceptionGroup.objects.for_workspace(rule.workspace_id).aggregate(newest=Max("id"))["newest"]
            rule.baseline_group_id = newest or 0
        alerts = Alert.objects.bulk_create(
            [
                Alert(
                    workspace_id=rule.workspace_id,
                    rule=rule,
                    subject_key=found.subject,
                    title=found.title[:255],
                    lines=list(found.lines),
                    link=found.link,
                    fired_at=now,
                    measure=found.measure,
                    manager_id=found.manager_id,
                    baseline=first,
                )
                for found in findings(rule, now)
            ]
        )
        if not first and alerts:
            channels = list(rule.channels.filter(is_active=True))
            for alert in alerts:
                alert.rule = rule
                _deliver(rule, alert, audience(rule, alert, members, choices), channels)
        rule.checked_at = now
        rule.save(update_fields=["checked_at", "baseline_group_id"])
    return alerts


def _deliver(rule, alert, receivers, channels):
    Receipt.objects.bulk_create(
        [Receipt(workspace_id=alert.workspace_id, alert=alert, user=user, how=how) for user, how in receivers]
    )
    at_once = [user for user, how in receivers if how == How.AT_ONCE]
    if at_once or channels:
        deliveries = notify(rule.workspace, message_of(alert), users=at_once, channels=channels)
        alert.deliveries.add(*deliveries)


# What admins and members change.


def rule_snapshot(rule):
    """A rule's settings as the audit trail shows them."""
    thresholds = ("items", "money", "success_percent", "window_hours", "silent_hours", "days_before")
    return {
        "kind": rule.kind,
        "name": rule.name,
        "is_active": rule.is_active,
        **{name: str(getattr(rule, name)) for name in thresholds if getattr(rule, name) is not None},
        "system": rule.system.name if rule.system_id else "",
        "exception_kind": rule.exception_kind,
        "throttle_hours": rule.throttle_hours,
        "roles": list(rule.roles),
        "channels": sorted(c.name for c in rule.channels.all()) if rule.pk else [],
    }


def save_rule(actor, workspace, rule, channels):
    """Save ``rule`` (new or changed, validated by its form) with its chat ``channels``; audited."""
    require(actor, workspace, ADMINISTER)
    assert rule.workspace_id == workspace.pk
    created = rule.pk is None
    stored = None if created else Rule.objects.get(pk=rule.pk)
    before = None if created else rule_snapshot(stored)
    if stored is not None and stored.kind != rule.kind:
        _start_afresh(rule)  # what it recorded was about another condition
    with transaction.atomic():
        rule.save()
        rule.channels.set(channels)
        action = "alert_rule.create" if created else "alert_rule.change"
        record(workspace, actor, action, rule, before=before, after=rule_snapshot(rule))
    return rule


def _start_afresh(rule):
    """The rule's next check is a first check again: it records the state and sends nothing."""
    rule.checked_at = None
    rule.baseline_group_id = None


def set_rule_active(actor, rule, active):
    """Deactivate (keep, never check) or activate a rule again; audited."""
    require(actor, rule.workspace, ADMINISTER)
    if rule.is_active == active:
        return rule
    if active:
        _start_afresh(rule)  # what happened while it was off is not news: its next check starts from now
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(
            is_active=active, checked_at=rule.checked_at, baseline_group_id=rule.baseline_group_id
        )
        action = "alert_rule.activate" if active else "alert_rule.deactivate"
        record(rule.workspace, actor, action, rule, before={"is_active": rule.is_active}, after={"is_active": active})
    rule.is_active = active
    return rule


def rules_for(user, workspace):
    """The active rules that name the user's role in the workspace: the ones they may choose for."""
    role = role_of(user, workspace)
    return [rule for rule in Rule.objects.for_workspace(workspace).filter(is_active=True) if role in rule.roles]


def save_preferences(actor, workspace, wanted):
    """Set the actor's own choice per rule (``{rule: how}``, rules of ``rules_for``); audited per change."""
    require(actor, workspace, VIEW)
    role = role_of(actor, workspace)
    mine = {p.rule_id: p for p in Preference.objects.for_workspace(workspace).filter(user=actor)}
    changes = []
    with transaction.atomic():
        for rule, how in wanted.items():
            assert rule.workspace_id == workspace.pk and role in rule.roles
            current = mine.get(rule.pk)
            was = current.how if current else rule.default_how(role)
            if current is None:
                current = Preference.objects.create(workspace=workspace, user=actor, rule=rule, how=how)
            elif current.how != how:
                Preference.objects.filter(pk=current.pk).update(how=how)
            if was != how:
                changes.append((rule, {"receive": was}, {"receive": how}))
        if changes:
            record_many(workspace, actor, "alert_preference.change", changes, note="Their own alerts.")
    return len(changes)
