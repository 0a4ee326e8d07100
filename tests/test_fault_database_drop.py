"""The database connection lost in the middle of an ingest batch: the batch is stored whole or not at all,
and the job's retry of the same batch succeeds.

The connection is lost by terminating the PostgreSQL backend that serves the request, at the moment its
transaction has written the batch's events and waits to update the exception queue. For the request this
is exactly what a server restart does (the connection drops mid-transaction and the server discards what
was not committed), without stopping the server other test runs share. The request goes through a real
WSGI server, so Django's own handling of a broken connection (closing it, a new one for the next
request) is what is tested.
"""

import threading
import time

import httpx
import psycopg
import pytest
from django.db import connection

from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent
from tests.queue_support import EVENTS_URL, failure, later, success

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite is a file opened in-process: there is no server connection to lose mid-transaction",
    ),
]


def dsn():
    settings = connection.settings_dict
    return f"host={settings['HOST']} port={settings['PORT'] or 5432} user={settings['USER']} dbname={settings['NAME']}"


def post(live_server, northwind, body):
    headers = {"Authorization": f"Bearer {northwind.raw_token}"}
    return httpx.post(f"{live_server.url}{EVENTS_URL}", json=body, headers=headers, timeout=60)


def wait_for_blocked_ingest(admin, lock_pid):
    """The backend of the ingest request, once it waits on the row we hold; it has written its events by then."""
    for _ in range(200):
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))",
            [lock_pid],
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the ingest request never reached the exception update")


def test_a_batch_cut_off_by_a_lost_connection_is_not_half_stored_and_its_retry_succeeds(live_server, northwind):
    assert post(live_server, northwind, {"items": [failure("TE-1", event_id="first")]}).status_code == 200
    batch = {
        "items": [success(f"TE-{n}", event_id=f"batch-{n}") for n in range(2, 200)]
        + [failure("TE-1", "Posting period 2026-11 is closed", at=later(1), event_id="batch-failure")]
    }

    with psycopg.connect(dsn(), autocommit=True) as admin, psycopg.connect(dsn()) as holder:
        # Hold the exception's row, so the ingest transaction stops right after inserting its events.
        holder.execute("SELECT id FROM queues_exceptionitem WHERE external_id = 'TE-1' FOR UPDATE")
        results = []
        sender = threading.Thread(target=lambda: results.append(post(live_server, northwind, batch)))
        sender.start()
        ingest_pid = wait_for_blocked_ingest(admin, holder.info.backend_pid)
        wrote = admin.execute(
            "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND c.relname = 'telemetry_syncevent' AND l.mode = 'RowExclusiveLock'",
            [ingest_pid],
        ).fetchone()
        assert wrote, "the ingest transaction had not written its events yet"
        admin.execute("SELECT pg_terminate_backend(%s)", [ingest_pid])
        sender.join(timeout=60)
        holder.rollback()

    (cut_off,) = results
    assert cut_off.status_code == 500
    assert not SyncEvent.objects.filter(event_id__startswith="batch-").exists()  # nothing of it, not half
    assert ExceptionItem.objects.get(external_id="TE-1").occurrences == 1

    retry = post(live_server, northwind, batch)

    assert retry.status_code == 200 and retry.json() == {"received": 199, "created": 199, "duplicates": 0}
    assert SyncEvent.objects.filter(event_id__startswith="batch-").count() == 199
    item = ExceptionItem.objects.get(external_id="TE-1")
    assert (item.occurrences, item.error_message) == (2, "Posting period 2026-11 is closed")
