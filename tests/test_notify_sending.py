"""Sending alerts: e-mail through Django's mail backend, Slack, Teams and signed webhooks to a local receiver,
each branded and linked; a failing receiver retried with backoff, then raised as an exception."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.html import escape
from django_q.models import Schedule
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from opsview.notify.models import Delivery
from opsview.notify.services import absolute_url, notify, retry_delivery
from opsview.notify.signing import new_secret
from opsview.notify.tasks import TASK, requeue_stale, send_delivery
from opsview.queues.models import ExceptionItem
from opsview.systems.models import System
from tests.connectors.localserver import Reply
from tests.notify_support import MESSAGE, SLACK_PATH, brand, channel, run_tasks_at_once

LINK = "https://ops.northwind.example/queues/?group=12"


@pytest.fixture(autouse=True)
def sync_tasks(monkeypatch):
    run_tasks_at_once(monkeypatch)


@pytest.fixture
def branded(northwind, settings):
    return brand(northwind, settings)


def test_links_are_absolute_from_the_base_url(settings):
    settings.OPSVIEW_BASE_URL = "https://ops.example.com/"
    assert absolute_url("/queues/?group=12") == "https://ops.example.com/queues/?group=12"
    assert absolute_url("https://elsewhere.example/x") == "https://elsewhere.example/x"


def test_an_email_carries_the_subject_both_bodies_the_branding_and_the_absolute_link(branded, ada, oscar):
    (delivery,) = notify(branded, MESSAGE, users=[ada, ada, oscar])  # oscar is no member: nothing for him

    (sent,) = mail.outbox
    assert sent.to == ["ada@example.com"]
    assert sent.from_email == '"Northwind Traders via opsview" <opsview@localhost>'
    assert sent.subject == "3 new posting failures at Tryton (EUR 12,400.00)"
    assert "- Period 2026-10 is closed" in sent.body and "- Chase: Wendy Worker, Max Manager" in sent.body
    assert f"Open in opsview: {LINK}" in sent.body and "Northwind Traders" in sent.body
    ((html, mimetype),) = sent.alternatives
    assert mimetype == "text/html"
    assert f'href="{LINK.replace("&", "&amp;")}"' in html and "#a83232" in html and "Northwind Traders" in html
    assert "<li>Chase: Wendy Worker, Max Manager</li>" in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.address, delivery.topic) == (
        "sent",
        1,
        "ada@example.com",
        "alert:new_group:12",
    )
    assert delivery.sent_at is not None and delivery.body == sent.body


def test_slack_gets_text_and_blocks_with_the_link_and_the_workspace(branded, server):
    slack = channel(branded, server, "slack", "#finance-ops")

    (delivery,) = notify(branded, MESSAGE, channels=[slack])

    (seen,) = server.seen
    assert seen.path == SLACK_PATH and seen.headers["Content-Type"] == "application/json"
    payload = seen.json()
    assert payload["text"].startswith("Northwind Traders: 3 new posting failures") and LINK in payload["text"]
    section, actions, context = payload["blocks"]
    assert "*3 new posting failures at Tryton (EUR 12,400.00)*" in section["text"]["text"]
    assert "• Chase: Wendy Worker, Max Manager" in section["text"]["text"]
    assert actions["elements"][0]["url"] == LINK and actions["elements"][0]["text"]["text"] == "Open in opsview"
    assert "Northwind Traders" in context["elements"][0]["text"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("sent", 200)
    assert "hook-secret" not in delivery.address and delivery.address.startswith(server.url)


def test_teams_gets_an_adaptive_card_with_the_link_and_the_workspace(branded, server):
    server.replies = [Reply(202, body="")]  # a Teams workflow accepts with 202
    teams = channel(branded, server, "teams", "Finance team", path="/workflows/abc/triggers/manual/run?sig=s3cr3t")

    (delivery,) = notify(branded, MESSAGE, channels=[teams])

    (seen,) = server.seen
    assert seen.query["sig"] == ["s3cr3t"]
    (attachment,) = seen.json()["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    texts = [block["text"] for block in card["body"]]
    assert texts == [
        "Northwind Traders",
        "3 new posting failures at Tryton (EUR 12,400.00)",
        "Period 2026-10 is closed",
        "Chase: Wendy Worker, Max Manager",
    ]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in opsview", "url": LINK}]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("sent", 202)


def test_a_signed_webhook_verifies_with_the_standard_webhooks_library(branded, server):
    secret = new_secret()
    hook = channel(branded, server, "webhook", "ERP partner", path="/opsview-alerts", secret=secret)

    (delivery,) = notify(branded, MESSAGE, channels=[hook])

    (seen,) = server.seen
    headers = {name.lower(): value for name, value in seen.headers.items()}
    payload = Webhook(secret).verify(seen.body, headers)
    assert payload["workspace"] == {"slug": branded.slug, "name": "Northwind Traders"}
    assert (payload["topic"], payload["subject"], payload["link"]) == (MESSAGE.topic, MESSAGE.subject, LINK)
    assert payload["lines"] == list(MESSAGE.lines) and payload["sent_at"]
    assert headers["webhook-id"] == f"msg_{delivery.uid.hex}"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(seen.body.replace(b"Tryton", b"Odoo"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(seen.body, headers)


def when_due(delivery):
    """Run the delivery's next attempt as its schedule does once ``next_attempt_at`` has come."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return send_delivery(delivery.pk)


def _open_alert_exceptions(workspace):
    return ExceptionItem.objects.for_workspace(workspace).filter(kind="alert_undelivered", status="open")


def test_a_failing_webhook_is_retried_with_backoff_then_raised_and_a_later_retry_resolves_it(
    branded, server, ada, settings
):
    settings.NOTIFY_TIMEOUT_SECONDS = 0.3
    server.replies = [Reply(500, {"error": "boom"}), Reply(delay=1.0), Reply(503), Reply(500)]
    slack = channel(branded, server, "slack", "#finance-ops")

    before = timezone.now()
    (delivery,) = notify(branded, MESSAGE, channels=[slack])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("retrying", 1, 500)
    assert "answered 500" in delivery.last_error and "hook-secret" not in delivery.last_error
    assert before + timedelta(seconds=60) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=60)
    (scheduled,) = Schedule.objects.filter(func=TASK)
    assert (scheduled.schedule_type, scheduled.next_run, scheduled.args) == (
        "O",
        delivery.next_attempt_at,
        f"({delivery.pk},)",
    )

    assert send_delivery(delivery.pk) == "not due" and len(server.seen) == 1  # a task delivered twice
    waits = []
    for expected_wait in (300, 1800):
        start = timezone.now()
        when_due(delivery)
        delivery.refresh_from_db()
        waits.append(delivery.next_attempt_at - start)
        assert delivery.status == "retrying" and timedelta(seconds=expected_wait) <= waits[-1]
    assert delivery.attempts == 3 and delivery.response_status == 503
    assert not _open_alert_exceptions(branded).exists()

    when_due(delivery)  # the last of NOTIFY_MAX_ATTEMPTS = 4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 4, None)
    assert send_delivery(delivery.pk) == "not sendable"
    assert len(server.seen) == 4
    (item,) = _open_alert_exceptions(branded)
    assert item.title == "Alert '3 new posting failures at Tryton (EUR 12,400.00)' not delivered to #finance-ops"
    assert item.key == f"alert_undelivered:delivery:{delivery.pk}" and "answered 500" in item.error_message
    assert item.group.message == "Alerts to Slack (incoming webhook) channel '#finance-ops' are not delivered"
    assert (item.system.slug, item.system.is_active) == ("opsview-alerts", False)

    delivery = retry_delivery(ada, delivery)  # the receiver answers 200 again

    assert (delivery.status, delivery.attempts) == ("sent", 5)
    item.refresh_from_db()
    assert (item.status, item.resolution) == ("resolved", "automatic")


def test_a_timeout_is_a_failed_attempt_naming_the_host(branded, server, settings):
    settings.NOTIFY_TIMEOUT_SECONDS = 0.3
    server.replies = [Reply(delay=1.0)]
    hook = channel(branded, server, "webhook", "ERP partner", path="/in/tok-77", secret=new_secret())

    (delivery,) = notify(branded, MESSAGE, channels=[hook])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("retrying", None)
    assert delivery.last_error == "127.0.0.1 did not answer within 0.3 s"


def test_a_refused_email_is_retried_then_raised_once_per_cause(branded, ada, olivia, settings):
    settings.EMAIL_BACKEND = "tests.notify_support.RefusingBackend"
    settings.NOTIFY_MAX_ATTEMPTS = 2

    deliveries = notify(branded, MESSAGE, users=[ada, olivia])
    for delivery in deliveries:
        when_due(delivery)

    assert [d.status for d in Delivery.objects.order_by("pk")] == ["failed", "failed"]
    items = list(_open_alert_exceptions(branded).order_by("pk"))
    assert [i.title for i in items] == [
        "Alert '3 new posting failures at Tryton (EUR 12,400.00)' not delivered to ada@example.com",
        "Alert '3 new posting failures at Tryton (EUR 12,400.00)' not delivered to olivia@example.com",
    ]
    assert items[0].group_id == items[1].group_id
    assert items[0].group.message == "Alert e-mails are not delivered (smtp_550)"
    assert "550" in items[0].error_message


def test_a_user_without_an_address_fails_at_once(branded, ada):
    ada.email = ""
    ada.save()

    (delivery,) = notify(branded, MESSAGE, users=[ada])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "The user has no e-mail address.")
    assert _open_alert_exceptions(branded).get().title.endswith("not delivered to ada")


def test_the_alerts_system_stays_off_the_systems_pages(branded, server, ada, client, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    server.replies = [Reply(500)]
    notify(branded, MESSAGE, channels=[channel(branded, server, "slack", "#finance-ops")])
    assert System.objects.filter(slug="opsview-alerts").exists()

    client.force_login(ada)
    for page in ("/settings/systems/", "/", "/settings/tokens/"):
        assert "opsview alerts" not in client.get(page).content.decode()
    item = _open_alert_exceptions(branded).get()
    assert "#finance-ops" in client.get(f"/queues/{item.pk}/").content.decode()
    assert escape(item.title) in client.get("/queues/?kind=alert_undelivered").content.decode()


def test_a_delivery_whose_worker_died_counts_a_failed_attempt_and_a_lost_task_is_sent_again(branded, server):
    slack = channel(branded, server, "slack", "#finance-ops")
    long_ago = timezone.now() - timedelta(minutes=30)
    common = {"workspace": branded, "channel": slack, "subject": "s", "body": "s", "link": LINK, "max_attempts": 4}
    died = Delivery.objects.create(status="pending", attempts=1, claimed_at=long_ago, **common)
    lost = Delivery.objects.create(status="retrying", attempts=1, next_attempt_at=long_ago, **common)
    waiting = Delivery.objects.create(status="retrying", attempts=1, next_attempt_at=timezone.now(), **common)

    assert requeue_stale() == (1, 1)

    died.refresh_from_db()
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert (died.status, died.attempts, died.claimed_at) == ("retrying", 1, None)
    assert died.last_error == "The worker sending it stopped before an answer came."
    assert (lost.status, lost.attempts) == ("sent", 2) and len(server.seen) == 1
    assert (waiting.status, waiting.attempts) == ("retrying", 1)
