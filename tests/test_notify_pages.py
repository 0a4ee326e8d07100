"""Settings → Alerts: channels (admins only, secrets write-only and masked, audited) and the delivery log."""

import pytest
from django.utils.html import escape

from opsview.audit.models import AuditEntry
from opsview.notify.models import Channel, Delivery
from opsview.notify.signing import new_secret
from opsview.queues.models import ExceptionItem
from tests.conftest import signed_in
from tests.connectors.localserver import Reply
from tests.notify_support import MESSAGE, brand, channel, run_tasks_at_once

CHANNELS = "/settings/alerts/channels/"
LOG = "/settings/alerts/deliveries/"


@pytest.fixture(autouse=True)
def sync_tasks(monkeypatch):
    run_tasks_at_once(monkeypatch)


@pytest.fixture
def branded(northwind, settings):
    return brand(northwind, settings)


@pytest.mark.parametrize("who", ["olivia", "erin", "max_manager"])
def test_only_admins_reach_the_alert_pages(request, client, northwind, server, who):
    user = request.getfixturevalue(who)
    hook = channel(northwind.workspace, server, "slack", "#finance-ops")
    signed_in(client, user)

    assert client.get(CHANNELS).status_code == 403
    assert client.get(LOG).status_code == 403
    posted = client.post(CHANNELS, {"name": "#mine", "kind": "slack", "is_active": "on", "url": server.url + "/x"})
    assert posted.status_code == 403
    assert client.post(f"{CHANNELS}{hook.pk}/test/").status_code == 403
    assert client.post(f"{CHANNELS}{hook.pk}/deactivate/").status_code == 403
    assert list(Channel.objects.values_list("name", "is_active")) == [("#finance-ops", True)]
    assert not server.seen and not AuditEntry.objects.filter(action__startswith="channel.").exists()


def test_an_admin_of_another_firm_cannot_touch_this_firms_channels(client, northwind, oscar, server):
    hook = channel(northwind.workspace, server, "slack", "#finance-ops")
    signed_in(client, oscar)

    assert "#finance-ops" not in client.get(CHANNELS).content.decode()
    assert client.get(f"{CHANNELS}{hook.pk}/").status_code == 404
    assert client.post(f"{CHANNELS}{hook.pk}/test/").status_code == 404


def test_the_pages_say_what_to_do_when_empty_and_are_linked_from_the_header(client, ada):
    signed_in(client, ada)

    page = client.get(CHANNELS).content.decode()
    assert "No chat channels yet." in page and f'href="{CHANNELS}"' in page
    assert "Nothing has been sent yet." in client.get(LOG).content.decode()


def test_a_signed_webhook_channel_shows_its_secret_once_then_only_masked(client, ada, northwind, server):
    signed_in(client, ada)
    url = server.url + "/hooks/opsview/tok-4242-secretpath"

    created = client.post(CHANNELS, {"name": "ERP partner", "kind": "webhook", "is_active": "on", "url": url})

    assert created.status_code == 200
    hook = Channel.objects.get(name="ERP partner")
    assert hook.secret.startswith("whsec_") and hook.url == url and hook.created_by == ada
    assert f'id="new-secret">{hook.secret}<' in created.content.decode()
    assert url not in hook.secrets_encrypted and hook.secret not in hook.secrets_encrypted
    page = client.get(CHANNELS).content.decode()
    assert hook.secret not in page and "tok-4242-secretpath" not in page
    assert f"••••{hook.secret[-4:]}" in page and "••••path" in page
    edit = client.get(f"{CHANNELS}{hook.pk}/").content.decode()
    assert hook.secret not in edit and "tok-4242" not in edit
    (entry,) = AuditEntry.objects.filter(action="channel.create")
    assert entry.after == {
        "name": "ERP partner",
        "kind": "webhook",
        "is_active": True,
        "url_changed": True,
        "secret_changed": True,
    }
    assert entry.actor == ada


def test_editing_keeps_what_is_left_empty_and_replaces_what_is_typed(client, ada, northwind, server):
    hook = channel(northwind.workspace, server, "slack", "#finance-ops")
    signed_in(client, ada)

    kept = client.post(f"{CHANNELS}{hook.pk}/", {"name": "#finance", "kind": "teams", "is_active": "on", "url": ""})

    assert kept.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.kind, hook.url) == (
        "#finance",
        "slack",
        server.url + "/services/T0NW/B0FIN/hook-secret-9f3k",
    )
    client.post(f"{CHANNELS}{hook.pk}/", {"name": "#finance", "is_active": "on", "url": server.url + "/new/hook-2"})
    hook.refresh_from_db()
    assert hook.url == server.url + "/new/hook-2"
    changes = list(AuditEntry.objects.filter(action="channel.change").order_by("id").values_list("after", flat=True))
    assert changes == [
        {"name": "#finance", "kind": "slack", "is_active": True},
        {"name": "#finance", "kind": "slack", "is_active": True, "url_changed": True},
    ]
    assert "hook-2" not in str(list(AuditEntry.objects.values_list("before", "after", "note")))


def test_bad_input_is_named(client, ada, northwind, server):
    channel(northwind.workspace, server, "slack", "#finance-ops")
    signed_in(client, ada)

    page = client.post(
        CHANNELS, {"name": "#finance-ops", "kind": "slack", "url": "ftp://files.example/x", "secret": "whsec_abc"}
    ).content.decode()

    assert escape("Another channel of this workspace is called '#finance-ops'.") in page
    assert "The webhook URL must start with https:// or http://." in page
    assert escape("After 'whsec_' a signing secret is base64.") in page
    slack_with_secret = {"name": "#ap", "kind": "slack", "url": server.url + "/s", "secret": new_secret()}
    assert "Only signed webhooks have a signing secret." in client.post(CHANNELS, slack_with_secret).content.decode()
    assert Channel.objects.count() == 1


def test_a_test_message_goes_through_the_delivery_path_and_shows_in_the_log(client, ada, branded, server):
    hook = channel(branded, server, "slack", "#finance-ops")
    signed_in(client, ada)

    response = client.post(f"{CHANNELS}{hook.pk}/test/", follow=True)

    (seen,) = server.seen
    assert seen.json()["text"].startswith("Northwind Traders: Test message from opsview for Northwind Traders")
    assert "Test message sent to &#x27;#finance-ops&#x27;." in response.content.decode()
    (delivery,) = Delivery.objects.all()
    assert (delivery.status, delivery.topic, delivery.channel) == ("sent", "test", hook)
    assert f'data-delivery="{delivery.pk}"' in response.content.decode()
    assert AuditEntry.objects.filter(action="channel.test", actor=ada, target_id=str(hook.pk)).exists()


def test_deactivating_a_channel_stops_sending_to_it(client, ada, branded, server):
    from opsview.notify.services import notify

    hook = channel(branded, server, "slack", "#finance-ops")
    signed_in(client, ada)

    client.post(f"{CHANNELS}{hook.pk}/deactivate/")

    hook.refresh_from_db()
    assert not hook.is_active
    assert notify(branded, MESSAGE, channels=[hook]) == [] and not server.seen
    assert AuditEntry.objects.filter(action="channel.deactivate", actor=ada).exists()
    assert "is deactivated" in client.post(f"{CHANNELS}{hook.pk}/test/", follow=True).content.decode()


def _delivery(workspace, hook, status, subject, user=None):
    return Delivery.objects.create(
        workspace=workspace,
        channel=hook,
        user=user,
        address=user.email if user else hook.masked_url(),
        subject=subject,
        body=subject,
        link="https://ops.example/queues/",
        status=status,
        attempts=4 if status == "failed" else 1,
        max_attempts=4,
        last_error="127.0.0.1 answered 500: boom" if status == "failed" else "",
    )


def test_the_delivery_log_filters_by_status_and_channel_and_pages(client, ada, olivia, northwind, server):
    workspace = northwind.workspace
    slack = channel(workspace, server, "slack", "#finance-ops")
    teams = channel(workspace, server, "teams", "Finance team", path="/wf/1")
    _delivery(workspace, slack, "sent", "Slack sent one")
    _delivery(workspace, slack, "failed", "Slack failed one")
    _delivery(workspace, teams, "failed", "Teams failed one")
    _delivery(workspace, None, "sent", "Mail sent one", user=olivia)
    signed_in(client, ada)

    def subjects(query):
        page = client.get(LOG + query).content.decode()
        return sorted(
            s for s in ("Slack sent one", "Slack failed one", "Teams failed one", "Mail sent one") if s in page
        )

    assert subjects("") == ["Mail sent one", "Slack failed one", "Slack sent one", "Teams failed one"]
    assert subjects("?status=failed") == ["Slack failed one", "Teams failed one"]
    assert subjects(f"?channel={slack.pk}") == ["Slack failed one", "Slack sent one"]
    assert subjects(f"?status=failed&channel={teams.pk}") == ["Teams failed one"]
    assert subjects("?channel=email") == ["Mail sent one"]
    assert subjects("?channel=nonsense") == []
    assert "No delivery matches these filters." in client.get(LOG + "?status=pending").content.decode()
    page = client.get(LOG + "?status=failed").content.decode()
    assert page.count(">Retry now</button>") == 2 and "answered 500: boom" in page and "4 of 4" in page

    for number in range(50):
        _delivery(workspace, slack, "sent", f"Bulk {number}")
    assert "Page 1 of 2 · 54 in all" in client.get(LOG).content.decode()
    assert "Page 2 of 2" in client.get(LOG + "?page=2").content.decode()


def test_retry_now_sends_a_failed_delivery_and_resolves_its_exception(client, ada, branded, server, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 1
    server.replies = [Reply(410, {"error": "gone"})]
    from opsview.notify.services import notify

    hook = channel(branded, server, "slack", "#finance-ops")
    (delivery,) = notify(branded, MESSAGE, channels=[hook])
    item = ExceptionItem.objects.get(kind="alert_undelivered")
    assert item.status == "open" and "answered 410" in item.error_message
    signed_in(client, ada)

    response = client.post(f"{LOG}{delivery.pk}/retry/", {"next": LOG + "?status=failed"})

    assert response.status_code == 302 and response["Location"] == LOG + "?status=failed"
    delivery.refresh_from_db()
    item.refresh_from_db()
    assert (delivery.status, delivery.attempts, item.status, item.resolution) == ("sent", 2, "resolved", "automatic")
    assert AuditEntry.objects.filter(action="delivery.retry", actor=ada, target_id=str(delivery.pk)).exists()
    again = client.post(f"{LOG}{delivery.pk}/retry/", follow=True).content.decode()
    assert "only a failed one is retried" in again and len(server.seen) == 2
