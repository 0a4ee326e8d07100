"""Detection behind the response (INGEST_DETECTION=outbox, production's setting on PostgreSQL): a batch
commits with a note of its new events; a drain opens and resolves the same exceptions as detection in
the batch's own transaction would, marks the note done in the transaction that does so, and loses
nothing when its worker dies midway."""

import os
import signal
import time
from decimal import Decimal

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django_q.models import OrmQ
from rest_framework.test import APIClient

from opsview.queues import outbox, sync_failures
from opsview.queues.models import DetectionOutbox, ExceptionItem
from opsview.queues.tracking import sync_key_sql
from opsview.telemetry.models import SyncEvent
from tests.process_support import start_cluster
from tests.queue_support import event, exceptions, failure, later, send, success


@pytest.fixture
def deferred(settings):
    settings.INGEST_DETECTION = "outbox"
    cache.delete(outbox.DRAIN_QUEUED)


def batches():
    """Failures opening, repeating and reopening exceptions, and successes resolving some of them."""
    return [
        [
            failure("TE-A", at=later(0)),
            failure("TE-B", at=later(0)),
            failure("TE-C", "Unknown project code 'ACME-01'", code="", at=later(0)),
            success("TE-D", at=later(0)),
            event("TE-E", "skipped", at=later(0)),
        ],
        [failure("TE-A", at=later(1)), success("TE-B", at=later(2)), failure("TE-F", at=later(1))],
        [success("TE-C", at=later(-1)), failure("TE-A", at=later(3)), failure("TE-G", record_type="invoice")],
    ]


def queue_of(firm):
    """What an operator sees of each exception, without the firm's own ids."""
    return sorted(
        exceptions(firm).values_list(
            "external_id", "kind", "status", "occurrences", "last_seen_at", "error_message", "amount", "title"
        )
    )


def test_a_batch_commits_a_note_of_its_events_and_a_drain_opens_their_exceptions(deferred, api, northwind):
    body = send(api, failure("TE-1"), success("TE-2"), event("TE-3", "skipped"))

    assert body == {"received": 3, "created": 3, "duplicates": 0}
    assert not exceptions(northwind).exists()
    (note,) = DetectionOutbox.objects.filter(workspace=northwind.workspace)
    assert note.done_at is None and len(note.event_ids) == 2  # the skipped event changes nothing

    assert outbox.drain(gather=0) == 1
    assert [item.external_id for item in exceptions(northwind)] == ["TE-1"]
    note.refresh_from_db()
    assert note.done_at is not None and note.event_ids is None
    assert outbox.drain(gather=0) == 0


def test_a_drain_opens_and_resolves_what_detection_in_the_batch_would(settings, northwind, contoso):
    contoso_api = APIClient()
    contoso_api.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    northwind_api = APIClient()
    northwind_api.credentials(HTTP_AUTHORIZATION=f"Bearer {northwind.raw_token}")
    for batch in batches():
        settings.INGEST_DETECTION = "inline"
        send(northwind_api, *batch)
        settings.INGEST_DETECTION = "outbox"
        send(contoso_api, *[{**item, "event_id": "c-" + item["event_id"]} for item in batch])

    assert outbox.drain(gather=0) == 3  # the three batches' notes, in one transaction
    expected = queue_of(northwind)
    assert [(row[0], row[2], row[3]) for row in expected] == [
        ("TE-A", "open", 3),
        ("TE-B", "resolved", 1),
        ("TE-C", "open", 1),  # its success happened before its failure
        ("TE-F", "open", 1),
        ("TE-G", "open", 1),
    ]
    assert queue_of(contoso) == expected


# Ids the drain hands to the database and takes back (keys as an array literal and as JSON) exactly as sent.
ODD_IDS = ['TE "quoted"', "TE\\back\\slash", "TE{1,2}", "TE with spaces", "TÉ-😀", "NULL"]


def test_a_drain_resolves_each_record_at_its_latest_success_after_its_last_failure(deferred, api, northwind):
    send(api, *[failure(external_id, at=later(0)) for external_id in ODD_IDS], failure("TE-late", at=later(2)))
    assert outbox.drain(gather=0) == 1
    send(
        api,
        *[success(external_id, at=later(3)) for external_id in ODD_IDS],
        *[success(external_id, at=later(1)) for external_id in ODD_IDS],  # sent last, happened first
        success("TE-late", at=later(1)),
        success("TE-never-failed", at=later(4)),
    )
    assert outbox.drain(gather=0) == 1

    resolved = dict(exceptions(northwind, status="resolved").values_list("external_id", "resolved_at"))
    assert resolved == dict.fromkeys(ODD_IDS, later(3))
    # Its success happened before its last failure: it says nothing about the record now.
    assert exceptions(northwind, external_id="TE-late").get().status == "open"


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the drain keys successes in PostgreSQL")
def test_the_database_keys_a_stored_event_as_detection_does(api, northwind):
    send(api, *[success(external_id) for external_id in ODD_IDS], success("INV-1", record_type="invoice"))
    events = SyncEvent.objects.for_workspace(northwind.workspace)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id, {sync_key_sql('e')} FROM telemetry_syncevent e WHERE e.workspace_id = %s",
            [northwind.workspace.pk],
        )
        keyed = dict(cursor.fetchall())
    assert keyed == {event.pk: sync_failures.key_of(event) for event in events}


@pytest.mark.parametrize("amount", ["1e300", "123456789012345678901234567890", "NaN", 1e300, -1e300])
def test_a_failure_with_an_absurd_amount_is_opened_by_the_drain_with_no_amount(deferred, api, northwind, amount):
    # A note the drain could not do would stay pending, and the failure would be in no open total.
    send(api, failure("TE-X", payload={"amount": amount, "currency": "EUR"}), failure("TE-Y"))

    assert outbox.drain(gather=0) == 1
    opened = sorted(exceptions(northwind).values_list("external_id", "amount"))
    assert opened == [("TE-X", 0), ("TE-Y", Decimal("1125.00"))]
    assert not DetectionOutbox.objects.filter(workspace=northwind.workspace, done_at=None).exists()


def test_draining_again_or_resending_a_batch_counts_nothing_twice(deferred, api, northwind):
    items = [failure(f"TE-{n}") for n in range(5)]
    send(api, *items)
    outbox.drain(gather=0)
    send(api, *items)  # all duplicates: nothing new to detect from
    assert outbox.drain(gather=0) == 0

    assert sorted(exceptions(northwind).values_list("occurrences", flat=True)) == [1] * 5
    assert DetectionOutbox.objects.filter(done_at__isnull=True).count() == 0


def test_a_drain_that_fails_midway_leaves_its_notes_pending_and_the_next_one_does_them(
    deferred, api, northwind, monkeypatch
):
    send(api, failure("TE-1", at=later(0)), failure("TE-2", at=later(0)), success("TE-1", at=later(1)))

    def worker_lost(*args):
        raise RuntimeError("the worker died")

    # Failures are written first, then successes are read: the drain dies between the two.
    monkeypatch.setattr(sync_failures, "resolve_succeeded", worker_lost)
    assert outbox.drain(gather=0) == 0
    assert not exceptions(northwind).exists()
    assert DetectionOutbox.objects.get().done_at is None

    monkeypatch.undo()
    assert outbox.drain(gather=0) == 1
    assert sorted(exceptions(northwind).values_list("external_id", "status", "occurrences")) == [
        ("TE-1", "resolved", 1),
        ("TE-2", "open", 1),
    ]


def test_a_batch_whose_detection_fails_holds_no_other_batch_back_and_stays_pending(
    deferred, api, northwind, contoso, monkeypatch
):
    contoso_api = APIClient()
    contoso_api.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    send(contoso_api, failure("TE-C1"))  # the oldest note, and the one detection fails on
    send(api, failure("TE-N1"))
    real = sync_failures.record_failures

    def fails_for_contoso(workspace, events):
        if workspace == contoso.workspace:
            raise RuntimeError("a bug met by this batch only")
        return real(workspace, events)

    monkeypatch.setattr(sync_failures, "record_failures", fails_for_contoso)
    assert outbox.drain(gather=0) == 1
    assert [item.external_id for item in exceptions(northwind)] == ["TE-N1"]
    stuck = DetectionOutbox.objects.get(workspace=contoso.workspace)
    assert (stuck.done_at, stuck.failures, len(stuck.event_ids)) == (None, 1, 1)

    monkeypatch.undo()  # the bug fixed: the next drain does it
    assert outbox.drain(gather=0) == 1
    assert [item.external_id for item in exceptions(contoso)] == ["TE-C1"]


def test_a_batch_asks_for_one_drain_until_a_drain_has_ended(deferred, api, django_capture_on_commit_callbacks):
    OrmQ.objects.all().delete()
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            send(api, failure(f"TE-{n}"))
    assert OrmQ.objects.count() == 1

    outbox.drain(gather=0)
    with django_capture_on_commit_callbacks(execute=True):
        send(api, failure("TE-9"))
    assert OrmQ.objects.count() == 2


def test_batches_that_commit_while_a_drain_loops_ask_for_no_other_drain(
    deferred, api, northwind, monkeypatch, django_capture_on_commit_callbacks
):
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        send(api, failure("TE-1"))
    real_drain_once = outbox.drain_once

    def drain_once_while_a_batch_commits():
        monkeypatch.setattr(outbox, "drain_once", real_drain_once)
        with django_capture_on_commit_callbacks(execute=True):
            send(api, failure("TE-2"))
        return real_drain_once()

    monkeypatch.setattr(outbox, "drain_once", drain_once_while_a_batch_commits)
    assert outbox.drain(gather=0) == 2  # the loop's next transaction took the second batch
    assert sorted(item.external_id for item in exceptions(northwind)) == ["TE-1", "TE-2"]
    assert OrmQ.objects.count() == 1  # the first batch's request, which started the loop


def test_a_note_that_commits_after_the_drains_last_look_gets_a_drain_of_its_own(deferred, api, northwind, monkeypatch):
    send(api, failure("TE-1"))
    OrmQ.objects.all().delete()
    real_drain_once = outbox.drain_once

    def drain_once_then_a_batch_commits():
        drained = real_drain_once()
        if not drained:  # the loop's last look found nothing: a batch commits just after it
            monkeypatch.setattr(outbox, "drain_once", real_drain_once)
            outbox.note(northwind.workspace, list(SyncEvent.objects.values_list("pk", flat=True)))
        return drained

    monkeypatch.setattr(outbox, "drain_once", drain_once_then_a_batch_commits)
    assert outbox.drain(gather=0) == 1
    assert DetectionOutbox.objects.filter(done_at__isnull=True).count() == 1
    assert OrmQ.objects.count() == 1  # the drain that ended asked for the next one


@pytest.mark.postgresql
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the drains' lock is PostgreSQL's")
def test_a_drain_asked_for_while_another_loops_leaves_it_to_that_one(deferred, api, northwind):
    send(api, failure("TE-1"))
    db = connection.settings_dict
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as other:  # the drain already looping, in another worker
        other.execute("SELECT pg_advisory_lock(%s)", [outbox.LOOP_LOCK])
        assert outbox.drain(gather=0) == 0
        assert exceptions(northwind).count() == 0
        other.execute("SELECT pg_advisory_unlock(%s)", [outbox.LOOP_LOCK])
    assert outbox.drain(gather=0) == 1
    assert [item.external_id for item in exceptions(northwind)] == ["TE-1"]


# --- a real worker killed mid-drain ------------------------------------------------------------------


def drain_waiting_on_a_lock(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE '%%queues_exceptionitem%%'"
        ).fetchone()


def backend_gone(dsn, pid):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None


def wait_until(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    return None


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the cluster runs in a process of its own, which SQLite's test db is not"
)
def test_a_cluster_killed_mid_drain_loses_nothing_and_the_next_drain_does_it_all(
    deferred, api, northwind, tmp_path, django_capture_on_commit_callbacks
):
    send(api, failure("TE-OLD", at=later(0)))
    outbox.drain(gather=0)
    old = ExceptionItem.objects.get(external_id="TE-OLD")
    OrmQ.objects.all().delete()
    news = [failure(f"TE-{n}", at=later(1)) for n in range(50)]
    with django_capture_on_commit_callbacks(execute=True):  # the batch asks for a drain, as in production
        send(api, *news, failure("TE-OLD", at=later(1)))
    assert OrmQ.objects.count() == 1

    db = connection.settings_dict
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    # Hold TE-OLD's row: the drain writes the 50 new exceptions, then waits to count TE-OLD's repeat.
    holder = psycopg.connect(dsn)
    holder.execute("SELECT id FROM queues_exceptionitem WHERE id = %s FOR UPDATE", [old.pk])
    cluster = start_cluster(tmp_path)
    try:
        waiting = wait_until(lambda: drain_waiting_on_a_lock(dsn))
        assert waiting, "the cluster's drain never reached the held row"
        os.killpg(cluster.pid, signal.SIGKILL)  # as the OOM killer or a lost machine would
        cluster.wait(30)
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
        holder.commit()
        holder.close()
    assert wait_until(lambda: backend_gone(dsn, waiting[0])), "the dead drain's transaction never ended"

    assert exceptions(northwind).count() == 1  # the dead drain's 50 new exceptions were rolled back
    assert ExceptionItem.objects.get(pk=old.pk).occurrences == 1
    assert DetectionOutbox.objects.filter(done_at__isnull=True).count() == 1

    assert outbox.drain(gather=0) == 1
    assert exceptions(northwind).count() == 51
    assert ExceptionItem.objects.get(pk=old.pk).occurrences == 2
    assert outbox.drain(gather=0) == 0
