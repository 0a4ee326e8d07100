"""The daily digest: one message per person and workspace, grouped by rule, each alert in exactly one, none
when there is nothing, at the workspace's morning hour."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from opsview.alerts import digests, services
from opsview.alerts.models import How, Preference, Receipt, Rule
from opsview.alerts.tasks import send_daily_digests
from tests.alerts_support import (
    GROUP_GREW,
    NEW_GROUP,
    check,
    grow,
    mails_to,
    make_group,
    tasks_at_once,  # noqa: F401 - an autouse fixture
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rules(northwind, ada, olivia, settings):
    """New group and group grew (5 items), past their first check; Olivia takes both in the digest."""
    settings.OPSVIEW_BASE_URL = "https://ops.example"
    rules = Rule.objects.for_workspace(northwind.workspace)
    rules.exclude(kind__in=[NEW_GROUP, GROUP_GREW]).update(is_active=False)
    rules.filter(kind=GROUP_GREW).update(items=5, money=None)
    services.evaluate_workspace(northwind.workspace)
    for rule in rules.filter(is_active=True):
        Preference.objects.create(workspace=northwind.workspace, user=olivia, rule=rule, how=How.DIGEST)
    mail.outbox.clear()
    return rules


def test_a_digest_groups_each_persons_waiting_alerts_by_rule_and_sends_each_once(northwind, olivia, ada, two_rules):
    first = make_group(northwind, items=2)
    second = make_group(northwind, items=1)
    check(northwind)
    grow(northwind, first, 6)
    check(northwind)
    assert mails_to(olivia) == []
    assert len(mails_to(ada)) == 3  # at once, as admins get them

    sent = digests.send_digests(northwind.workspace)
    assert [d.user for d in sent] == [olivia]
    [digest_mail] = mails_to(olivia)
    assert digest_mail.subject == "Daily digest: 3 alerts in Northwind"
    body = digest_mail.body
    assert body.index("New exception group (2):") < body.index("Group past 50 items or 10,000 (1):")
    link = f"https://ops.example/queues/groups/{first.pk}/?status=pending"
    assert f"→ New exception group: ERP posting failure in Tryton: {link}" in body
    assert f"https://ops.example/queues/groups/{second.pk}/?status=pending" in body
    assert "Exception group past 5 items" in body
    assert Receipt.objects.filter(user=olivia, digest__isnull=True).count() == 0

    mail.outbox.clear()
    assert digests.send_digests(northwind.workspace) == []  # nothing waits: nothing sent
    make_group(northwind, items=1)
    check(northwind)
    assert digests.send_digests(northwind.workspace) == []  # one digest a day; this one waits for tomorrow
    assert mails_to(olivia) == []
    tomorrow = timezone.now() + timedelta(days=1)
    [later] = digests.send_digests(northwind.workspace, tomorrow)
    assert later.receipts.count() == 1
    assert len(mails_to(olivia)) == 1


def test_no_digest_without_waiting_alerts(northwind, olivia, two_rules):
    assert send_daily_digests() == 0
    assert mail.outbox == []


def test_the_digest_goes_at_the_workspaces_morning_hour(northwind, olivia, two_rules):
    northwind.workspace.time_zone = "Europe/Berlin"
    northwind.workspace.save()
    make_group(northwind, items=1)
    check(northwind)
    assert send_daily_digests(datetime(2026, 12, 3, 5, 30, tzinfo=UTC)) == 0  # 06:30 in Berlin
    assert send_daily_digests(datetime(2026, 12, 3, 6, 5, tzinfo=UTC)) == 1  # 07:05 in Berlin
    assert send_daily_digests(datetime(2026, 12, 3, 7, 5, tzinfo=UTC)) == 0
    assert len(mails_to(olivia)) == 1
