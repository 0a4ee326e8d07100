"""Two jobs sending the same records at the same moment: nothing is lost, nothing is written twice."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from opsview.queues.models import ExceptionItem
from opsview.records.models import TimeEntry
from opsview.telemetry.models import SyncEvent
from tests.test_ingest_states import time_entry
from tests.test_ingest_sync_events import event

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locking is exercised on PostgreSQL"),
]


def send_concurrently(raw_token, url, body, senders=3):
    """POST ``body`` from ``senders`` threads at once; ``body`` may be a list of one body per sender."""
    bodies = body if isinstance(body, list) else [body] * senders
    barrier = threading.Barrier(len(bodies))
    results = []

    def send(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        try:
            barrier.wait()
            response = client.post(url, body, format="json")
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_same_new_states_from_three_senders_are_created_once(northwind):
    items = [time_entry(f"TE-{n}") for n in range(300)]
    results = send_concurrently(northwind.raw_token, "/api/v1/states/time-entries/", {"items": items})

    assert [status for status, _ in results] == [200, 200, 200]
    assert sum(body["created"] for _, body in results) == 300
    assert sum(body["duplicates"] for _, body in results) == 600
    created = TimeEntry.objects.filter(external_id__regex=r"^TE-[0-9]+$")
    assert created.count() == 300


def test_the_same_events_from_three_senders_are_stored_once(northwind):
    items = [event(n) for n in range(500)]
    results = send_concurrently(northwind.raw_token, "/api/v1/sync-events/", {"items": items})

    assert [status for status, _ in results] == [200, 200, 200]
    assert sum(body["created"] for _, body in results) == 500
    assert SyncEvent.objects.filter(event_id__startswith="run7-").count() == 500


def test_failures_of_the_same_records_from_three_senders_open_each_exception_once(northwind):
    # Each sender's events are its own, so each of the three detects from them and finds the exceptions new.
    failed = {"outcome": "failed", "error_message": "Period 2026-10 is closed"}
    bodies = [{"items": [event(f"{s}-{n}", external_id=f"TE-{n}", **failed) for n in range(200)]} for s in range(3)]
    results = send_concurrently(northwind.raw_token, "/api/v1/sync-events/", bodies)

    assert [status for status, _ in results] == [200, 200, 200]
    assert sum(body["created"] for _, body in results) == 600
    opened = ExceptionItem.objects.for_workspace(northwind.workspace)
    assert sorted(opened.values_list("external_id", flat=True)) == sorted(f"TE-{n}" for n in range(200))
