"""Exactly once in effect: two workers given the same replay at the same moment send it once."""

import threading

import pytest
from django.db import connection

from opsview.queues.models import ExceptionItem
from opsview.replay.services import request_replay
from opsview.replay.tasks import run_replay
from tests.replay_support import failing_to, webhook_system


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's shared in-memory test database raises table locks at once instead of waiting; "
    "the claim is the same conditional UPDATE on both databases and PostgreSQL is where workers race",
)
def test_two_workers_one_replay_one_send(api, northwind, olivia, server):
    target = webhook_system(northwind, server)
    item = failing_to(api, northwind, target, "TE-9")["TE-9"]
    (replay,) = request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk))
    start, results = threading.Barrier(2), []

    def worker():
        try:
            start.wait()
            results.append(run_replay(replay.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == ["not claimed", "succeeded"]
    assert len(server.seen) == 1
    item.refresh_from_db()
    assert item.resolution == "replayed"
