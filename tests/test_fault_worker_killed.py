"""A task worker killed in the middle of a replay: the replay is taken back after its lease and sent once.

Real django-q2 clusters run the replay against a real receiver on 127.0.0.1. The first cluster is
killed (SIGKILL to its whole process group, as the OOM killer or a lost machine would) while its worker
waits for the receiver's answer; ``requeue_stale`` (scheduled every five minutes in production) finds
the replay still marked running past REPLAY_LEASE_SECONDS and queues it again; a second cluster sends it
with the same idempotency key, which the receiver recognises.
"""

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from opsview.queues.models import ExceptionItem
from opsview.replay.models import ACTIVE, Replay
from opsview.replay.services import request_replay
from opsview.replay.tasks import requeue_stale
from tests.connectors.localserver import Reply
from tests.process_support import start_cluster
from tests.replay_support import failing_to, webhook_system

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the clusters run in processes of their own, which cannot open SQLite's in-memory test database",
    ),
]


class HeldReceiver:
    """Holds the first request until released (the worker is mid-send); keeps each key's record once."""

    def __init__(self, server):
        self.kept, self.arrived, self.release = [], threading.Event(), threading.Event()
        server.handler = self

    def __call__(self, seen):
        key = seen.headers["Idempotency-Key"]
        if not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(30)
        if key in self.kept:
            return Reply(409, {"error": "already received"})
        self.kept.append(key)
        return Reply(201, {"id": "R-1"})


def wait_until(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_replay_whose_worker_was_killed_mid_send_is_taken_back_and_kept_once_by_the_target(
    api, northwind, olivia, server, tmp_path
):
    receiver = HeldReceiver(server)
    target = webhook_system(northwind, server)
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk))

    first = start_cluster(tmp_path)
    try:
        assert receiver.arrived.wait(60), "the first cluster never sent the replay"
        replay.refresh_from_db()
        assert (replay.status, replay.attempts) == ("running", 1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        receiver.release.set()  # the dead worker's request is answered to no one; the record is kept

    assert requeue_stale() == 0  # within its lease a running replay is left alone
    lease = timedelta(seconds=django_settings.REPLAY_LEASE_SECONDS)
    assert requeue_stale(now=timezone.now() + lease + timedelta(seconds=1)) == 1

    second = start_cluster(tmp_path)
    try:
        assert wait_until(lambda: not Replay.objects.filter(pk=replay.pk, status__in=ACTIVE).exists())
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)

    replay.refresh_from_db()
    assert (replay.status, replay.attempts) == ("succeeded", 2)
    assert [s.headers["Idempotency-Key"] for s in server.seen] == [replay.idempotency_key] * 2
    assert receiver.kept == [replay.idempotency_key]
    item.refresh_from_db()
    assert (item.status, item.resolution) == ("resolved", "replayed")
