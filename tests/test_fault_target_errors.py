"""A replay target that answers 500 or does not answer in time: backoff, and one delivery as the target sees it.

The receiver here behaves as a careful target does: it keeps the record of the first request with a
new idempotency key (even one whose answer the sender never read) and answers 409 to the key again.
"""

import threading

import httpx
import pytest
from django_q.models import Schedule

from connectors.http import RetryPolicy
from connectors.webhook import WebhookConnector
from opsview.queues.models import ExceptionItem
from opsview.replay.models import Replay
from opsview.replay.services import request_replay
from opsview.replay.tasks import run_replay
from tests.connectors.localserver import Reply
from tests.replay_support import SECRET, failing_to, run_queued, webhook_system


class Receiver:
    """The first ``failures`` requests fail as ``failure`` says (a 5xx, or a delay); each key's record is kept once."""

    def __init__(self, server, failure, failures):
        self.kept, self.failures, self.failure, self.lock = [], failures, failure, threading.Lock()
        server.handler = self

    def __call__(self, seen):
        key = seen.headers["Idempotency-Key"]
        with self.lock:
            failing = self.failures > 0
            self.failures -= 1
            if failing and self.failure.status >= 500:
                return self.failure  # refused before anything was kept
            if key in self.kept:
                reply = Reply(409, {"error": "already received", "id": key})
            else:
                self.kept.append(key)
                reply = Reply(201, {"id": f"R-{len(self.kept)}"})
        if failing:  # slow: the record is kept, the answer comes after the sender stopped waiting
            reply.delay = self.failure.delay
        return reply


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


def connector(server, sleeps, timeout=5.0, attempts=4):
    return WebhookConnector(
        f"{server.url}/records",
        SECRET,
        retry=RetryPolicy(max_attempts=attempts, base_delay=1),
        http_options={"sleep": sleeps, "rng": lambda low, high: high, "timeout": httpx.Timeout(timeout)},
    )


def replay_of(api, northwind, olivia, target):
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk))
    return item, replay


def test_a_target_answering_500_is_retried_with_growing_waits_and_receives_the_record_once(
    api, northwind, olivia, target, server, sleeps
):
    receiver = Receiver(server, Reply(500, {"error": "database unavailable"}), failures=2)
    item, replay = replay_of(api, northwind, olivia, target)

    assert run_queued(connector(server, sleeps)) == ["succeeded"]

    assert sleeps == [1.0, 2.0]  # exponential backoff between the three tries
    assert {s.headers["Idempotency-Key"] for s in server.seen} == {replay.idempotency_key} and len(server.seen) == 3
    assert receiver.kept == [replay.idempotency_key]
    item.refresh_from_db()
    assert (item.status, item.resolution) == ("resolved", "replayed")


def test_a_target_that_times_out_is_tried_again_later_with_the_same_key_and_keeps_one_record(
    api, northwind, olivia, target, server, sleeps, settings
):
    settings.REPLAY_BACKOFF_SECONDS = [60, 300]
    # The first two requests take longer than the sender waits; the target keeps the first one's record anyway.
    receiver = Receiver(server, Reply(delay=1.0), failures=2)
    item, replay = replay_of(api, northwind, olivia, target)

    assert run_queued(connector(server, sleeps, timeout=0.3, attempts=2)) == ["retrying"]
    replay.refresh_from_db()
    assert (replay.attempts, replay.last_error_code) == (1, "timeout")
    assert 55 <= (replay.next_retry_at - replay.started_at).total_seconds() <= 65
    assert Schedule.objects.filter(func="opsview.replay.tasks.run_replay", args=f"({replay.pk},)").exists()
    assert ExceptionItem.objects.get(pk=item.pk).status == "open"  # nothing is resolved on a timeout

    assert run_replay(replay.pk, connector=connector(server, sleeps)) == "succeeded"

    assert {s.headers["Idempotency-Key"] for s in server.seen} == {replay.idempotency_key}
    assert receiver.kept == [replay.idempotency_key]  # three requests, one record at the target
    assert Replay.objects.get(pk=replay.pk).status == "succeeded"
    assert ExceptionItem.objects.get(pk=item.pk).status == "resolved"
