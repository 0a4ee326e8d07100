"""An alert as people get it: the e-mail (Django's test outbox) and the chat post (a local HTTP receiver),
each with the alert's facts, the workspace's branding and an absolute link to the page behind it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from opsview.alerts import services
from opsview.alerts.models import Alert, Rule
from opsview.notify.models import Delivery
from tests.alerts_support import (
    PAST_SLA,
    check,
    make_group,
    only_rule,
    tasks_at_once,  # noqa: F401 - an autouse fixture
)
from tests.notify_support import brand, channel

SLACK = "/services/T0NW/B0ALERTS/hook-secret-4t7q"


@pytest.fixture
def branded(northwind, settings):
    return brand(northwind, settings)


def test_an_alert_mails_its_facts_branded_with_the_link_and_posts_once_to_its_channel(
    branded, northwind, ada, olivia, server
):
    slack = channel(branded, server, "slack", "#finance-ops", path=SLACK)
    rule = only_rule(northwind, PAST_SLA)
    rule.channels.add(slack)
    group = make_group(northwind, items=2, amount="1250.50", sla_due_at=timezone.now() - timedelta(hours=50))

    [alert] = check(northwind)
    link = f"https://ops.northwind.example/queues/groups/{group.pk}/?past_sla=1"

    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "olivia@example.com"]
    sent = mail.outbox[0]
    assert sent.subject == "Past SLA: 2 exceptions in ERP posting failure in Tryton"
    assert "- 2 past SLA, EUR 2,501.00 at stake" in sent.body
    assert "- The oldest is 2 days past its SLA" in sent.body
    assert f"Open in opsview: {link}" in sent.body and "Northwind Traders" in sent.body
    ((html, _),) = sent.alternatives
    assert "#a83232" in html and "Northwind Traders" in html

    (seen,) = server.seen
    assert seen.path == SLACK
    payload = seen.json()
    assert payload["text"].startswith("Northwind Traders: Past SLA: 2 exceptions") and link in payload["text"]
    assert "• 2 past SLA, EUR 2,501.00 at stake" in payload["blocks"][0]["text"]["text"]

    deliveries = Alert.objects.get(pk=alert.pk).deliveries.all()
    assert sorted(d.address for d in deliveries if d.user_id) == ["ada@example.com", "olivia@example.com"]
    assert [d.channel for d in deliveries if d.channel_id] == [slack]
    assert {d.topic for d in deliveries} == {f"alert:past_sla:group:{group.pk}"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}

    assert check(northwind) == []  # throttled: neither mail nor post again
    assert len(mail.outbox) == 2 and len(server.seen) == 1


def test_the_first_check_records_the_state_and_sends_nothing(branded, northwind, ada, server):
    slack = channel(branded, server, "slack", "#finance-ops", path=SLACK)
    for number in range(30):
        make_group(northwind, items=1, sla_due_at=timezone.now() - timedelta(hours=number + 1))
    Rule.objects.for_workspace(northwind.workspace).get(kind=PAST_SLA).channels.add(slack)
    made = services.evaluate_workspace(northwind.workspace)
    assert len(made) == 30 and all(a.baseline for a in made)
    assert mail.outbox == [] and server.seen == []
    assert not Delivery.objects.exists()
    make_group(northwind, items=1, sla_due_at=timezone.now() - timedelta(minutes=5))
    assert sorted(a.rule.kind for a in check(northwind)) == ["new_group", "past_sla"]  # what appears afterwards
    assert len(server.seen) == 1
