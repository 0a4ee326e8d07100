"""What the alert tests share: exceptions made to measure, a rule past its first check, and who got what."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core import mail
from django.utils import timezone

from opsview.alerts import services
from opsview.alerts.models import Receipt, Rule, RuleKind
from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Status
from opsview.queues.stakes import rebuild_stakes
from tests.notify_support import run_tasks_at_once

_numbers = count(1)


@pytest.fixture(autouse=True)
def tasks_at_once(monkeypatch):
    """Deliveries go out here and now, as a django-q2 cluster would send them."""
    run_tasks_at_once(monkeypatch)


def make_group(firm, items=1, amount="100", project=None, kind=Kind.POSTING_FAILURE, sla_due_at=None, **group):
    """A group of ``items`` open exceptions at the firm's ERP, each holding up ``amount`` EUR."""
    number = next(_numbers)
    now = timezone.now()
    group = ExceptionGroup.objects.create(
        workspace=firm.workspace,
        fingerprint=f"fp-{number}",
        kind=kind,
        system=firm.erp,
        record_type="time_entry",
        message=group.pop("message", f"Posting period 2026-{number:02d} is closed"),
        first_seen_at=now,
        last_seen_at=now,
        **group,
    )
    add_items(firm, group, items, amount, project, sla_due_at)
    return group


def add_items(firm, group, items, amount="100", project=None, sla_due_at=None):
    now = timezone.now()
    ExceptionItem.objects.bulk_create(
        ExceptionItem(
            workspace=firm.workspace,
            key=f"k-{group.pk}-{n}",
            group=group,
            kind=group.kind,
            system=firm.erp,
            source_system=firm.harvest,
            record_type="time_entry",
            external_id=f"TE-{group.pk}-{n}",
            amount=Decimal(amount),
            currency="EUR",
            record_date=now.date(),
            sla_due_at=sla_due_at or now + timedelta(hours=24),
            status=Status.OPEN,
            project=project,
        )
        for n in range(ExceptionItem.objects.filter(group=group).count(), items)
    )
    rebuild_stakes(firm.workspace.pk)  # as the queue's writers keep it


def grow(firm, group, to, **kwargs):
    """Make the group hold ``to`` items."""
    add_items(firm, group, to, **kwargs)


def only_rule(firm, kind, **changes):
    """The firm's default rule of ``kind`` (the others deactivated), with ``changes``, past its first check."""
    rules = Rule.objects.for_workspace(firm.workspace)
    rules.exclude(kind=kind).update(is_active=False)
    rule = rules.get(kind=kind)
    for name, value in changes.items():
        setattr(rule, name, value)
    rule.save()
    services.evaluate_workspace(firm.workspace)  # the first check: the state it starts from
    mail.outbox.clear()
    return Rule.objects.get(pk=rule.pk)


def check(firm, now=None):
    """One check of the firm's rules; the alerts that are not baseline."""
    return [a for a in services.evaluate_workspace(firm.workspace, now) if not a.baseline]


def received(user):
    """``{title: how}`` of what ``user`` received."""
    return dict(Receipt.objects.filter(user=user).values_list("alert__title", "how"))


def mails_to(user):
    return [m for m in mail.outbox if user.email in m.to]


NEW_GROUP, GROUP_GREW, PAST_SLA = RuleKind.NEW_GROUP, RuleKind.GROUP_GREW, RuleKind.PAST_SLA
SYNC_LOW, SILENT, CUTOFF = RuleKind.SYNC_SUCCESS_LOW, RuleKind.SYSTEM_SILENT, RuleKind.UNAPPROVED_BEFORE_CUTOFF
