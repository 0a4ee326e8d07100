"""Replays queued together run in batches: shared out to the workers, several sends in flight, each record once.

The target here is a real HTTP server on 127.0.0.1 that behaves as an ERP with a unique reference does: it keeps
one record per idempotency key, and fails as real targets do after it has stored the record (a 500, or an answer
that comes after the sender stopped waiting). The connectors are the system's own, built from its settings.
"""

import threading

import pytest
from django.db import connection
from django_q.conf import Conf
from django_q.models import OrmQ

from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, Status
from opsview.replay.models import Replay, ReplayAttempt
from opsview.replay.services import request_replay
from opsview.replay.tasks import BATCH_TASK, run_replays
from tests.connectors.localserver import Reply
from tests.replay_support import failing_to, queued_tasks, run_queued, webhook_system


class Erp:
    """Keeps one record per idempotency key. ``fault(seen, first)`` may turn the answer to a request into a
    fault once the record is stored (``first``: this request stored it); it counts requests in flight."""

    def __init__(self, server, fault=None, delay=0.0):
        self.kept, self.fault, self.delay = {}, fault, delay
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        server.handler = self

    def __call__(self, seen):
        key = seen.headers["Idempotency-Key"]
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            first = key not in self.kept
            self.kept.setdefault(key, f"R-{len(self.kept) + 1}")
            receipt = self.kept[key]
        threading.Event().wait(self.delay)  # a slow target: the answers overlap while counted in flight
        with self.lock:
            self.in_flight -= 1
        return (self.fault and self.fault(seen, first)) or Reply(200, {"id": receipt})


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


def replays_of(api, northwind, olivia, target, count):
    ids = [f"TE-{n}" for n in range(1, count + 1)]
    items = failing_to(api, northwind, target, *ids)
    chosen = ExceptionItem.objects.filter(pk__in=[i.pk for i in items.values()])
    plan = request_replay(olivia, northwind.workspace, chosen, dry_run=True)
    kwargs = {"confirm_count": plan.count, "selection": plan.selection} if count > 1 else {}
    return items, request_replay(olivia, northwind.workspace, chosen, **kwargs)


def test_a_record_stored_and_then_answered_500_is_sent_again_with_its_key_and_kept_once(
    api, northwind, olivia, target, server
):
    erp = Erp(server, fault=lambda seen, first: Reply(500, {"error": "deadlock detected"}) if first else None)
    items, (replay,) = replays_of(api, northwind, olivia, target, 1)

    assert run_queued() == ["succeeded"]

    assert [s.headers["Idempotency-Key"] for s in server.seen] == [replay.idempotency_key] * 2
    assert list(erp.kept) == [replay.idempotency_key]  # two requests, one record at the target
    replay.refresh_from_db()
    assert (replay.status, replay.attempts, replay.result["external_id"]) == ("succeeded", 1, "R-1")
    item = ExceptionItem.objects.get(pk=items["TE-1"].pk)
    assert (item.status, item.resolution) == (Status.RESOLVED, "replayed")
    assert AuditEntry.objects.filter(action="exception.resolve", target_id=str(item.pk), actor=olivia).count() == 1


def test_a_target_answering_after_the_replay_timeout_is_asked_again_with_the_same_key(
    api, northwind, olivia, target, server, settings
):
    settings.REPLAY_TIMEOUT_SECONDS = 0.3
    # The first request's record is stored, but its answer comes after the sender stopped waiting.
    erp = Erp(server, fault=lambda seen, first: Reply(200, {"id": "R-1"}, delay=1.5) if first else None)
    items, (replay,) = replays_of(api, northwind, olivia, target, 1)

    assert run_queued() == ["succeeded"]

    assert [s.headers["Idempotency-Key"] for s in server.seen] == [replay.idempotency_key] * 2
    assert list(erp.kept) == [replay.idempotency_key]
    assert ExceptionItem.objects.get(pk=items["TE-1"].pk).status == Status.RESOLVED


def test_a_batch_keeps_replay_concurrency_sends_in_flight_and_resolves_each_record_once(
    api, northwind, olivia, target, server, settings, monkeypatch
):
    settings.REPLAY_CONCURRENCY = 3
    monkeypatch.setattr(Conf, "WORKERS", 1)  # one task for the eight
    erp = Erp(server, delay=0.3)
    items, replays = replays_of(api, northwind, olivia, target, 8)
    assert [len(task["args"][0]) for task in queued_tasks()] == [8]

    assert run_queued() == ["succeeded"] * 8

    assert erp.most_in_flight == 3
    assert sorted(erp.kept) == sorted(r.idempotency_key for r in replays) and len(server.seen) == 8
    assert ReplayAttempt.objects.filter(outcome="succeeded").count() == 8
    resolved = ExceptionItem.objects.filter(pk__in=[i.pk for i in items.values()], status=Status.RESOLVED)
    assert resolved.count() == 8 and {i.resolution for i in resolved} == {"replayed"}
    audit = AuditEntry.objects.filter(action="exception.resolve")
    assert sorted(int(e.target_id) for e in audit) == sorted(i.pk for i in items.values())
    assert {e.actor for e in audit} == {olivia} and {e.note for e in audit} == {"Replayed to Client middleware."}
    target.refresh_from_db()
    assert target.connection_status == "ok"


def test_a_record_the_target_refuses_waits_to_retry_while_the_rest_of_its_batch_is_resolved(
    api, northwind, olivia, target, server, monkeypatch
):
    monkeypatch.setattr(Conf, "WORKERS", 1)
    Erp(server, fault=lambda seen, first: Reply(422, {"error": "archived"}) if b'"TE-2"' in seen.body else None)
    items, replays = replays_of(api, northwind, olivia, target, 3)

    assert run_queued() == ["succeeded", "retrying", "succeeded"]

    statuses = dict(ExceptionItem.objects.filter(pk__in=[i.pk for i in items.values()]).values_list("pk", "status"))
    assert statuses == {items["TE-1"].pk: "resolved", items["TE-2"].pk: "open", items["TE-3"].pk: "resolved"}
    refused = Replay.objects.get(exception=items["TE-2"])
    assert (refused.status, refused.last_error_code) == ("retrying", "http_422")


def test_replays_queued_together_are_shared_out_in_tasks_of_at_most_replay_batch_size(
    api, northwind, olivia, target, settings, monkeypatch
):
    monkeypatch.setattr(Conf, "WORKERS", 2)
    settings.REPLAY_BATCH_SIZE = 2
    _, replays = replays_of(api, northwind, olivia, target, 5)

    tasks = queued_tasks()
    assert {t["func"] for t in tasks} == {BATCH_TASK}
    assert [t["args"][0] for t in tasks] == [[r.pk for r in replays][i : i + 2] for i in (0, 2, 4)]


def test_fewer_replays_than_a_batch_for_each_worker_are_shared_among_the_workers(
    api, northwind, olivia, target, monkeypatch
):
    monkeypatch.setattr(Conf, "WORKERS", 2)
    _, replays = replays_of(api, northwind, olivia, target, 5)

    assert [len(t["args"][0]) for t in queued_tasks()] == [3, 2]


def test_replays_a_task_had_no_time_left_to_start_are_queued_again_and_sent_later(
    api, northwind, olivia, target, server, settings, monkeypatch
):
    settings.REPLAY_CONCURRENCY = 1
    monkeypatch.setattr(Conf, "WORKERS", 1)
    monkeypatch.setattr(Conf, "TIMEOUT", 1.5)  # sends start within the first half second
    erp = Erp(server, delay=1.0)
    items, replays = replays_of(api, northwind, olivia, target, 3)
    (task,) = queued_tasks()
    OrmQ.objects.all().delete()

    statuses = run_replays(*task["args"])

    assert statuses[0] == "succeeded" and "queued" in statuses and set(statuses) <= {"succeeded", "queued"}
    again = [r.pk for r, status in zip(replays, statuses, strict=True) if status == "queued"]
    (requeued,) = queued_tasks()
    assert requeued["args"][0] == again
    waiting = Replay.objects.filter(pk__in=again)
    assert {(r.status, r.attempts, r.started_at) for r in waiting} == {("queued", 0, None)}

    monkeypatch.setattr(Conf, "TIMEOUT", 300)
    assert run_queued() == ["succeeded"] * len(again)
    assert sorted(erp.kept) == sorted(r.idempotency_key for r in replays) and len(server.seen) == 3
    assert ExceptionItem.objects.filter(pk__in=[i.pk for i in items.values()], status=Status.RESOLVED).count() == 3


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's shared in-memory test database raises table locks at once instead of waiting; "
    "PostgreSQL is where workers race",
)
def test_two_workers_given_overlapping_batches_send_each_replay_once(api, northwind, olivia, server):
    target = webhook_system(northwind, server)
    erp = Erp(server, delay=0.05)
    _, replays = replays_of(api, northwind, olivia, target, 6)
    pks = [r.pk for r in replays]
    start, results = threading.Barrier(2), []

    def worker(batch):
        try:
            start.wait()
            results.append(run_replays(batch))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in (pks[:4], pks[2:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    sent = [status for statuses in results for status in statuses if status != "not claimed"]
    assert sent == ["succeeded"] * 6
    assert len(server.seen) == 6 and sorted(erp.kept) == sorted(r.idempotency_key for r in replays)
    assert {r.attempts for r in Replay.objects.filter(pk__in=pks)} == {1}
