"""Replaying to a webhook target: signed, keyed, exactly once, retried on backoff, stopped after the last attempt."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from connectors.webhook import verify_signature
from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, Mapping
from opsview.queues.services import ActionRefused
from opsview.replay.models import Replay, ReplayAttempt
from opsview.replay.payloads import PayloadInvalid
from opsview.replay.services import request_replay
from opsview.replay.tasks import requeue_stale, run_replay
from opsview.telemetry.models import SyncEvent
from tests.conftest import keep_stakes
from tests.connectors.localserver import Reply
from tests.replay_support import SECRET, failing_to, queued_replays, run_queued, webhook_system


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


EDITED = {
    "external_id": "TE-9",
    "person": "P-W",
    "project": "PR-1",
    "work_date": "2026-11-02",
    "hours": 8,
    "currency": "EUR",
    "status": "approved",
    "approved_at": "2026-11-03T09:00:00Z",
}


def only(item):
    return ExceptionItem.objects.filter(pk=item.pk)


def test_a_replay_is_queued_sent_signed_with_its_key_verified_and_resolves_the_exception(
    api, northwind, olivia, target, server
):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]

    (replay,) = request_replay(olivia, northwind.workspace, only(item))

    assert replay.status == "queued" and queued_replays() == [replay.pk]
    assert run_queued() == ["succeeded"]
    (seen,) = server.seen
    assert verify_signature(SECRET, seen.body, seen.headers["Opsview-Timestamp"], seen.headers["Opsview-Signature"])
    assert seen.headers["Idempotency-Key"] == replay.idempotency_key
    assert seen.json()["payload"] == {"hours": 7.5, "bill_rate": 150, "currency": "EUR", "external_id": "TE-9"}
    replay.refresh_from_db()
    item.refresh_from_db()
    assert (replay.status, replay.attempts, replay.finished_at is not None) == ("succeeded", 1, True)
    assert (item.status, item.resolution, item.resolved_by) == ("resolved", "replayed", olivia)
    # The attempt is kept on the replay; the sync events stay the integration job's own.
    assert list(SyncEvent.objects.filter(external_id="TE-9").values_list("outcome", flat=True)) == ["failed"]
    (attempt,) = ReplayAttempt.objects.filter(replay=replay)
    assert (attempt.number, attempt.outcome, attempt.request["idempotency_key"]) == (
        1,
        "succeeded",
        replay.idempotency_key,
    )
    entries = AuditEntry.objects.filter(target_id=str(item.pk)).order_by("id")
    actions = list(entries.values_list("action", "actor__username"))
    assert actions == [("exception.replay", "olivia"), ("exception.resolve", "olivia")]


def test_a_double_request_and_a_task_delivered_twice_send_once(api, northwind, olivia, ada, target, server):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]

    first = request_replay(olivia, northwind.workspace, only(item))
    with pytest.raises(ActionRefused, match="Nothing to replay"):
        request_replay(ada, northwind.workspace, only(item))
    assert Replay.objects.count() == 1
    assert run_replay(first[0].pk) == "succeeded"
    assert run_replay(first[0].pk) == "not claimed"

    assert len(server.seen) == 1


def test_same_record_and_payload_carry_the_same_key_an_edited_payload_a_new_one(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (first,) = request_replay(olivia, northwind.workspace, only(item))
    Replay.objects.filter(pk=first.pk).update(status="failed")

    (again,) = request_replay(olivia, northwind.workspace, only(item))
    Replay.objects.filter(pk=again.pk).update(status="failed")
    (edited,) = request_replay(olivia, northwind.workspace, only(item), payload_override=json.dumps(EDITED))

    assert again.idempotency_key == first.idempotency_key != edited.idempotency_key


def test_a_failed_replay_records_the_error_retries_on_backoff_and_stops_after_the_last_attempt(
    api, northwind, olivia, target, server, settings
):
    settings.REPLAY_MAX_ATTEMPTS, settings.REPLAY_BACKOFF_SECONDS = 3, [60, 300]
    server.handler = lambda seen: Reply(422, {"error": "project NW1 is archived"})
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, only(item))

    assert run_queued() == ["retrying"]
    replay.refresh_from_db()
    item.refresh_from_db()
    assert (replay.attempts, replay.last_error_code) == (1, "http_422")
    assert "project NW1 is archived" in replay.last_error and item.error_code == "PERIOD_CLOSED"
    assert 55 <= (replay.next_retry_at - replay.started_at).total_seconds() <= 65
    retry = Schedule.objects.get(func="opsview.replay.tasks.run_replay")
    assert (retry.func, retry.args, retry.next_run) == (
        "opsview.replay.tasks.run_replay",
        f"({replay.pk},)",
        replay.next_retry_at,
    )

    assert run_replay(replay.pk) == "retrying"
    replay.refresh_from_db()
    assert replay.attempts == 2 and 295 <= (replay.next_retry_at - replay.started_at).total_seconds() <= 305
    assert run_replay(replay.pk) == "failed"
    replay.refresh_from_db()
    item.refresh_from_db()
    assert (replay.attempts, replay.next_retry_at, replay.gave_up) == (3, None, True)
    assert run_replay(replay.pk) == "not claimed"
    assert len(server.seen) == 3 and item.status == "open" and item.occurrences == 1
    failures = AuditEntry.objects.filter(action="exception.replay_failed").order_by("id")
    notes = list(failures.values_list("note", flat=True))
    assert notes[-1] == "Attempt 3 of 3 failed; no more attempts. Fix and replay again."

    page = signed_in_get(olivia, f"/replays/exceptions/{item.pk}/status/")
    assert "stopped after 3 attempts" in page and "project NW1 is archived" in page


def signed_in_get(user, url):
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


class AlreadyThere:
    """A target that can be asked, and already has the record."""

    sent = []

    def lookup(self, record_type, key):
        return {"external_id": "REMOTE-1", "reference": key}

    def send(self, *args):
        self.sent.append(args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_a_record_the_target_already_has_is_not_sent_and_resolves_as_a_duplicate(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, only(item))

    assert run_replay(replay.pk, connector=AlreadyThere()) == "duplicate"

    item.refresh_from_db()
    replay.refresh_from_db()
    assert AlreadyThere.sent == [] and replay.verified and replay.result["found"]["reference"] == replay.idempotency_key
    assert (item.status, item.resolution) == ("resolved", "duplicate")


def test_an_edited_payload_to_a_target_without_fields_must_be_an_object_and_is_kept_beside_the_original(
    client, api, northwind, olivia, target, server
):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    # A webhook publishes no fields: an object is all that is asked, not opsview's own ingest fields.
    with pytest.raises(PayloadInvalid) as invalid:
        request_replay(olivia, northwind.workspace, only(item), payload_override="[1, 2]")
    assert [(e["field"], e["message"]) for e in invalid.value.errors] == [(None, "must be a JSON object")]

    client.force_login(olivia)
    page = client.post(f"/replays/exceptions/{item.pk}/edit/", {"payload": '{"hours": '}, follow=True)
    assert "payload: is not valid JSON" in page.content.decode() and not Replay.objects.exists()

    edited = EDITED
    client.post(f"/replays/exceptions/{item.pk}/edit/", {"payload": json.dumps(edited)})
    replay = Replay.objects.get()
    assert replay.original_payload == {"hours": 7.5, "bill_rate": 150, "currency": "EUR"}
    assert replay.edited_payload == edited == replay.payload
    entry = AuditEntry.objects.get(action="exception.edit_payload")
    assert (entry.before["payload"]["hours"], entry.after["payload"]["hours"], entry.actor) == (7.5, 8, olivia)
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert "Original payload" in page and "Edited payload (replayed)" in page and "payload.hours" in page
    run_queued()
    assert server.seen[0].json()["payload"]["hours"] == 8


def test_a_bulk_replay_shows_a_dry_run_with_mappings_and_needs_the_count_confirmed(
    client, api, northwind, olivia, target, server
):
    items = failing_to(api, northwind, target, "TE-1", "TE-2", "TE-3", payload={"project": "OLD-7", "hours": 1})
    Mapping.objects.create(
        workspace=northwind.workspace,
        kind="project",
        source_system=northwind.harvest,
        target_system=target,
        source_value="OLD-7",
        target_value="NW1",
    )
    client.force_login(olivia)
    group = items["TE-1"].group_id

    dry = client.post("/replays/request/", {"group": group})
    page = dry.content.decode()
    assert "Dry run: 3 records would be replayed" in page and "To Client middleware." in page
    assert page.count("project: OLD-7 → NW1") == 3 and "&quot;project&quot;: &quot;NW1&quot;" in page
    assert not Replay.objects.exists() and server.seen == []
    selection = dry.context["plan"].selection
    ids = [i.pk for i in items.values()]

    refused = client.post("/replays/request/", {"ids": ids, "confirm_count": "30", "selection": selection})
    assert refused.status_code == 409
    assert "You typed 30, but 3 records would be replayed. Type 3." in refused.content.decode()
    assert not Replay.objects.exists()
    # One of them was resolved meanwhile: the confirmed selection no longer holds.
    resolved = items["TE-3"]
    ExceptionItem.objects.filter(pk=resolved.pk).update(status="resolved")
    keep_stakes(northwind)
    stale = client.post("/replays/request/", {"ids": ids, "confirm_count": "3", "selection": selection})
    assert stale.status_code == 409 and "Dry run: 2 records" in stale.content.decode()

    done = client.post(
        "/replays/request/", {"ids": ids, "confirm_count": "2", "selection": stale.context["plan"].selection}
    )
    assert done.status_code == 302 and done.url.startswith("/replays/?batch=")
    assert "Queued: <strong>2</strong>" in client.get(done.url).content.decode()
    run_queued()
    assert sorted(s.json()["payload"]["project"] for s in server.seen) == ["NW1", "NW1"]
    assert "Succeeded: <strong>2</strong>" in client.get(done.url).content.decode()


def test_only_operators_and_admins_replay(client, api, northwind, olivia, erin, max_manager, target):
    item = failing_to(api, northwind, target, "TE-PR-1")["TE-PR-1"]
    for user in (erin, max_manager):
        with pytest.raises(PermissionDenied):
            request_replay(user, northwind.workspace, only(item))
        client.force_login(user)
        assert client.post("/replays/request/", {"one": item.pk}).status_code == 403
        assert client.post(f"/replays/exceptions/{item.pk}/edit/", {"payload": "{}"}).status_code == 403
        assert 'action="/replays/request/"' not in client.get(f"/queues/{item.pk}/").content.decode()
    assert not Replay.objects.exists()
    client.force_login(olivia)
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert 'action="/replays/request/"' in page and "Not replayed yet." in page
    assert client.post("/replays/request/", {"one": item.pk}).status_code == 302
    assert Replay.objects.count() == 1


def test_a_replay_left_running_by_a_lost_worker_is_taken_back_and_sent_with_the_same_key(
    api, northwind, olivia, target, server, settings
):
    settings.REPLAY_LEASE_SECONDS = 900
    lost, fresh = failing_to(api, northwind, target, "TE-1", "TE-2").values()
    (lost_replay,) = request_replay(olivia, northwind.workspace, only(lost))
    (fresh_replay,) = request_replay(olivia, northwind.workspace, only(fresh))
    OrmQ.objects.all().delete()  # the workers that took these tasks died
    Replay.objects.filter(pk=lost_replay.pk).update(status="running", started_at=timezone.now() - timedelta(hours=1))
    Replay.objects.filter(pk=fresh_replay.pk).update(status="running", started_at=timezone.now())

    assert requeue_stale() == 1
    assert run_queued() == ["succeeded"]
    (seen,) = server.seen
    assert seen.headers["Idempotency-Key"] == lost_replay.idempotency_key
    assert Replay.objects.get(pk=fresh_replay.pk).status == "running"
    assert Schedule.objects.filter(func="opsview.replay.tasks.requeue_stale", minutes=5).exists()


def test_the_replays_page_lists_one_batch_and_a_batch_that_cannot_exist_lists_nothing(
    client, api, northwind, olivia, target
):
    items = failing_to(api, northwind, target, "TE-1", "TE-2")
    [first] = request_replay(olivia, northwind.workspace, only(items["TE-1"]))
    request_replay(olivia, northwind.workspace, only(items["TE-2"]))
    client.force_login(olivia)

    everything = client.get("/replays/").content.decode()
    one_batch = client.get("/replays/", {"batch": str(first.batch)}).content.decode()
    no_batch = client.get("/replays/", {"batch": "not-a-batch"}).content.decode()

    assert "Queued: <strong>2</strong>" in everything and "requested together" not in everything
    assert "Queued: <strong>1</strong>" in one_batch and "Replays requested together" in one_batch
    assert "No replays." in no_batch and "Replays requested together" in no_batch
