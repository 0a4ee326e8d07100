"""A replay never changes what an exception is: attempts are kept on the replay, connection trouble is the
system's, a target that is not connected is refused up front, and confirming says what went wrong."""

import importlib
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from opsview.kpis.scope import Scope
from opsview.kpis.sync import sync_success_totals
from opsview.queues.models import ExceptionItem
from opsview.queues.services import ActionRefused
from opsview.replay import services
from opsview.replay.models import Replay, ReplayAttempt
from opsview.replay.services import request_replay
from opsview.replay.tasks import run_replay
from opsview.systems.connection import connection_problem
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent
from tests.connectors.localserver import Reply
from tests.replay_support import failing_to, run_queued, webhook_system


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


def only(item):
    return ExceptionItem.objects.filter(pk=item.pk)


def sync_kpis(firm):
    today = timezone.localdate()
    return sync_success_totals(Scope(workspace=firm.workspace, start=today - timedelta(days=7), end=today))


def what_it_is(item):
    item.refresh_from_db()
    return (item.kind, item.group_id, item.group.fingerprint, item.error_code, item.error_message, item.occurrences)


def test_a_failed_replay_leaves_kind_group_fingerprint_and_the_sync_kpis_unchanged(
    client, api, northwind, olivia, target, server, settings
):
    settings.REPLAY_MAX_ATTEMPTS, settings.REPLAY_BACKOFF_SECONDS = 3, [60]
    item = failing_to(api, northwind, target, "INV-7", record_type="invoice")["INV-7"]
    before, kpis = what_it_is(item), sync_kpis(northwind)
    assert item.kind == "posting_failure" and kpis["failed"] >= 1
    # The target refuses with wording that would classify as something else entirely.
    server.handler = lambda seen: Reply(422, {"error": "Validation failed: field 'AccountCode' is invalid"})

    (replay,) = request_replay(olivia, northwind.workspace, only(item))
    assert run_queued() == ["retrying"]
    assert run_replay(replay.pk) == "retrying"
    assert run_replay(replay.pk) == "failed"

    assert what_it_is(item) == before and item.status == "open"
    assert sync_kpis(northwind) == kpis
    assert not SyncEvent.objects.filter(correlation_id=replay.idempotency_key).exists()
    attempts = list(ReplayAttempt.objects.filter(replay=replay).values_list("number", "outcome", "error_code"))
    assert attempts == [(1, "failed", "http_422"), (2, "failed", "http_422"), (3, "failed", "http_422")]
    client.force_login(olivia)
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert "Attempt history" in page and page.count("Refused") == 3 and "AccountCode" in page
    assert "Posting period 2026-10 is closed" in page  # the exception still says what it is


def test_a_configuration_failure_stops_at_once_and_marks_the_system_failing(api, northwind, olivia, target, server):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, only(item))
    # Between queueing and running, someone saved settings the connector cannot take.
    target.connector_settings = {**target.connector_settings, "colour": "red"}
    target.save()

    assert run_queued() == ["failed"]

    replay.refresh_from_db()
    target.refresh_from_db()
    assert (replay.attempts, replay.last_error_code, replay.next_retry_at) == (1, "configuration_error", None)
    assert not Schedule.objects.filter(func="opsview.replay.tasks.run_replay").exists()
    assert target.connection_status == "failing" and "do not fit its connector" in target.connection_detail
    assert server.seen == [] and ExceptionItem.objects.get(pk=item.pk).status == "open"
    assert ReplayAttempt.objects.get(replay=replay).outcome == "connection"


def test_refused_credentials_stop_at_once_and_a_later_success_marks_the_system_ok(
    api, northwind, olivia, target, server
):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    server.handler = lambda seen: Reply(401, {"error": "bad signature"})
    (replay,) = request_replay(olivia, northwind.workspace, only(item))

    assert run_queued() == ["failed"]
    target.refresh_from_db()
    assert target.connection_status == "failing" and len(server.seen) == 1

    server.handler = lambda seen: Reply(200, {"id": "R-1"})
    request_replay(olivia, northwind.workspace, only(item))
    assert run_queued() == ["succeeded"]
    target.refresh_from_db()
    assert target.connection_status == "ok"


@pytest.fixture
def xero(northwind):
    """A Xero system added but never set up: no credentials."""
    return System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing", vendor="xero")


def test_a_target_that_is_not_connected_is_named_and_refused_before_anything_is_queued(
    client, api, northwind, olivia, ada, xero, target
):
    assert connection_problem(target) is None
    assert connection_problem(xero) == (
        "the settings of system 'xero' do not fit its connector: no Xero organisation (tenant_id) yet: "
        "press Connect to Xero on the system page"
    )
    assert connection_problem(northwind.erp) is not None  # no vendor chosen: no connector
    items = failing_to(api, northwind, xero, "INV-1", "INV-2", record_type="invoice")
    client.force_login(olivia)

    dry = client.post("/replays/request/", {"group": items["INV-1"].group_id}).content.decode()
    assert "Xero is not connected: set it up under Settings → Systems" in dry
    assert "A workspace admin can." in dry and 'name="confirm_count"' not in dry
    assert f'href="/settings/systems/{xero.pk}/"' not in dry  # an operator may not open that page: no link to a 403

    response = client.post("/replays/request/", {"one": items["INV-1"].pk}, follow=True)
    assert "Xero is not connected: set it up under Settings → Systems" in response.content.decode()
    with pytest.raises(ActionRefused, match="Xero is not connected"):
        request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(system=xero), confirm_count="2")
    assert not Replay.objects.exists() and not OrmQ.objects.exists()
    page = client.get(f"/queues/{items['INV-1'].pk}/").content.decode()
    assert "Xero is not connected" in page and "Replay to Xero" not in page

    client.force_login(ada)  # an admin is taken to the system's page to connect it
    dry = client.post("/replays/request/", {"group": items["INV-1"].group_id}).content.decode()
    assert f'href="/settings/systems/{xero.pk}/"' in dry
    page = client.get(f"/queues/{items['INV-1'].pk}/").content.decode()
    assert f'href="/settings/systems/{xero.pk}/">Set up Xero</a>' in page


def test_a_mistyped_confirmation_count_re_renders_the_form_saying_what_was_wrong(
    client, api, northwind, olivia, target
):
    items = failing_to(api, northwind, target, "TE-1", "TE-2")
    client.force_login(olivia)
    dry = client.post("/replays/request/", {"group": items["TE-1"].group_id})
    form = {"ids": [i.pk for i in items.values()], "selection": dry.context["plan"].selection}

    for typed, said in (
        ("two", "'two' is not a number: type 2, the number of records to replay."),
        ("3", "You typed 3, but 2 records would be replayed. Type 2."),
        ("", "Type the number of records to replay (2) to confirm."),
    ):
        page = client.post("/replays/request/", {**form, "confirm_count": typed})
        assert page.status_code == 409
        html = page.content.decode()
        assert said.replace("'", "&#x27;") in html and 'name="confirm_count"' in html
    assert not Replay.objects.exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's shared in-memory test database raises table locks at once instead of waiting; "
    "PostgreSQL is where two people confirm at the same moment",
)
def test_two_people_confirming_the_same_group_replay_at_once_get_a_message_not_an_error(
    api, northwind, olivia, ada, server, monkeypatch
):
    target = webhook_system(northwind, server)
    items = failing_to(api, northwind, target, "TE-1", "TE-2")
    plan = services.plan_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(system=target))
    form = {"ids": [i.pk for i in items.values()], "selection": plan.selection, "confirm_count": "2"}
    both_planned, planned = threading.Barrier(2), services.plan_replay

    def plan_then_wait(*args, **kwargs):
        result = planned(*args, **kwargs)
        both_planned.wait(timeout=30)  # both have seen 2 records to replay before either queues them
        return result

    monkeypatch.setattr(services, "plan_replay", plan_then_wait)
    pages = {}

    def confirm(user):
        try:
            browser = Client()
            browser.force_login(user)
            pages[user.username] = browser.post("/replays/request/", form, follow=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(u,)) for u in (olivia, ada)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(p.status_code for p in pages.values()) == [200, 200]
    said = sorted(p.content.decode() for p in pages.values())
    assert sum("2 replays queued." in s for s in said) == 1
    assert sum("Someone else queued these replays a moment ago; nothing was queued twice." in s for s in said) == 1
    assert Replay.objects.count() == 2 and OrmQ.objects.count() == 2


def test_the_single_replay_form_is_refused_with_a_message_when_someone_queued_it_first(
    client, api, northwind, olivia, ada, target
):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    request_replay(ada, northwind.workspace, only(item))
    client.force_login(olivia)
    response = client.post("/replays/request/", {"one": item.pk}, follow=True)
    assert response.status_code == 200 and "Nothing to replay" in response.content.decode()
    assert Replay.objects.count() == 1


def test_replay_attempts_once_stored_as_sync_events_move_onto_their_replay(api, northwind, olivia, target):
    migration = importlib.import_module("opsview.replay.migrations.0004_replay_events_become_attempts")
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    kpis = sync_kpis(northwind)
    (replay,) = request_replay(olivia, northwind.workspace, only(item))
    for number, outcome in ((1, "failed"), (2, "succeeded")):
        SyncEvent.objects.create(
            workspace=northwind.workspace,
            event_id=f"replay:{replay.pk}:{number}:{outcome}",
            record_type="time_entry",
            external_id="TE-9",
            source_system=northwind.harvest,
            target_system=target,
            outcome=outcome,
            error_code="http_422" if outcome == "failed" else "",
            correlation_id=replay.idempotency_key,
            occurred_at=timezone.now(),
            payload={"hours": 8},
        )
    assert sync_kpis(northwind) != kpis

    migration.move(apps, None)

    assert sync_kpis(northwind) == kpis
    attempts = ReplayAttempt.objects.filter(replay=replay).order_by("number")
    assert [(a.number, a.outcome, a.error_code, a.request["fields"]) for a in attempts] == [
        (1, "failed", "http_422", ["hours"]),
        (2, "succeeded", "", ["hours"]),
    ]
