"""Scheduled pulls from a real Tryton: stored values, no duplicates on a re-read, cursors, failures."""

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from connectors.tryton import TrytonConnector
from opsview.pulls import pages
from opsview.pulls.models import PullCursor
from opsview.pulls.runs import pull, pull_all
from opsview.records.models import Client, Invoice, Person, Project, TimeEntry
from opsview.telemetry.models import SyncEvent, SyncRun

pytestmark = pytest.mark.tryton


@pytest.fixture
def tryton(northwind, tryton_server):
    """Northwind's ERP system, set up to read the test's trytond."""
    system = northwind.erp
    system.vendor = "tryton"
    system.connector_settings = {
        "url": tryton_server.url,
        "database": tryton_server.database,
        "username": "admin",
        "page_size": 2,
        "poll_minutes": 15,
    }
    system.credentials = {"password": tryton_server.password}
    system.save()
    return system


def pulled_events(system):
    return SyncEvent.objects.filter(source_system=system)


def cursor_of(system, record_type):
    return PullCursor.objects.get(system=system, record_type=record_type)


def test_a_pull_stores_clients_people_projects_time_and_invoices_with_their_values(tryton, tryton_server):
    ids = tryton_server.ids
    runs = pull_all(tryton)

    assert [(r.flow, r.status) for r in runs] == [
        ("pull_clients", "succeeded"),
        ("pull_people", "succeeded"),
        ("pull_projects", "succeeded"),
        ("pull_time_entries", "succeeded"),
        ("pull_invoices", "succeeded"),
    ]
    assert all(r.reported_by == r.source_system == r.target_system == tryton and r.finished_at for r in runs)
    time_run = runs[3]
    assert (time_run.records_total, time_run.records_succeeded, time_run.records_failed) == (3, 3, 0)
    assert time_run.message == "Read 3 time entries: 3 new, 0 changed, 0 unchanged, 0 older than stored, 0 rejected."

    client = Client.objects.get(system=tryton)
    assert (client.external_id, client.name) == (str(ids["customer"]), "Northwind Traders")
    person = Person.objects.get(system=tryton)
    assert (person.external_id, person.name, person.is_active) == (str(ids["employee"]), "Wendy Worker", True)
    project = Project.objects.get(system=tryton)
    assert (project.external_id, project.name, project.client, project.is_billable) == (
        str(ids["project"]),
        "Northwind Rollout",
        client,
        True,
    )
    entries = {e.external_id: e for e in TimeEntry.objects.filter(system=tryton)}
    mapping, kick_off, cut_over = (entries[str(i)] for i in ids["timesheet_lines"])
    assert (mapping.work_date, mapping.hours, kick_off.hours, cut_over.hours) == (
        date(2026, 10, 5),
        Decimal("3.00"),
        Decimal("2.50"),
        Decimal("4.00"),
    )
    assert {(e.person, e.project, e.status, e.currency, e.bill_rate) for e in entries.values()} == {
        (person, project, "approved", "EUR", Decimal("150.00"))
    }
    assert mapping.invoice_reference == kick_off.invoice_reference == f"draft-{ids['invoice']}"
    assert cut_over.invoice_reference == "" and mapping.approved_at is not None
    assert mapping.workspace == tryton.workspace and mapping.source_updated_at is not None
    invoice = Invoice.objects.get(system=tryton)
    assert (invoice.external_id, invoice.number, invoice.status) == (
        str(ids["invoice"]),
        f"draft-{ids['invoice']}",
        "draft",
    )
    assert (invoice.amount, invoice.currency, invoice.client, invoice.project) == (
        Decimal("825.00"),
        "EUR",
        client,
        project,
    )
    assert invoice.issue_date == date(2026, 10, 31)

    # One succeeded event per record, its payload the record as the ingest API takes it.
    events = pulled_events(tryton)
    assert Counter(events.values_list("record_type", "outcome")) == {
        ("client", "succeeded"): 1,
        ("person", "succeeded"): 1,
        ("project", "succeeded"): 1,
        ("time_entry", "succeeded"): 3,
        ("invoice", "succeeded"): 1,
    }
    event = events.get(record_type="time_entry", external_id=mapping.external_id)
    assert event.run == time_run and event.target_system == tryton
    assert event.payload["hours"] == "3.00" and event.payload["project"] == str(ids["project"])
    assert all(cursor_of(tryton, kind).advanced_at for kind in ("clients", "people", "projects", "time_entries"))


def test_a_second_pull_stores_nothing_new_and_records_no_duplicate_events(tryton):
    pull_all(tryton)
    before = {
        "events": pulled_events(tryton).count(),
        "entries": list(TimeEntry.objects.filter(system=tryton).values_list("external_id", "hours", "received_at")),
        "invoices": list(Invoice.objects.filter(system=tryton).values_list("external_id", "received_at")),
    }

    again = pull_all(tryton)

    assert [r.status for r in again] == ["succeeded"] * 5
    # Tryton's records were all written within the overlap the cursor keeps, so they were read again.
    time_run = again[3]
    assert (time_run.records_total, time_run.records_succeeded, time_run.records_skipped) == (3, 0, 3)
    assert pulled_events(tryton).count() == before["events"]
    assert (
        list(TimeEntry.objects.filter(system=tryton).values_list("external_id", "hours", "received_at"))
        == (before["entries"])
    )
    assert list(Invoice.objects.filter(system=tryton).values_list("external_id", "received_at")) == before["invoices"]


def test_the_cursor_moves_only_past_a_stored_page(tryton, tryton_server, monkeypatch):
    for kind in ("clients", "people", "projects"):
        pull(tryton, kind)
    with TrytonConnector(
        tryton_server.url, tryton_server.database, "admin", tryton_server.password, page_size=2
    ) as direct:
        first_page = direct.fetch_time_entries()
    calls = []
    real_upsert = pages.upsert_states

    def upsert_failing_on_the_second_page(system, state_type, body):
        calls.append(len(body["items"]))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_upsert(system, state_type, body)

    monkeypatch.setattr(pages, "upsert_states", upsert_failing_on_the_second_page)
    run = pull(tryton, "time_entries")

    assert calls == [2, 1]
    assert (run.status, run.records_total, run.records_succeeded) == ("failed", 2, 2)
    assert run.message == "RuntimeError: disk full"
    assert sorted(TimeEntry.objects.filter(system=tryton).values_list("external_id", flat=True)) == sorted(
        r.external_id for r in first_page.records
    )
    assert cursor_of(tryton, "time_entries").cursor == first_page.next_cursor
    assert pulled_events(tryton).filter(record_type="time_entry").count() == 2
    failure = pulled_events(tryton).get(record_type="pull")
    assert (failure.outcome, failure.external_id, failure.error_code) == ("failed", "time_entries", "internal_error")

    # The next pull resumes after the stored page, and says the failure is over.
    monkeypatch.setattr(pages, "upsert_states", real_upsert)
    resumed = pull(tryton, "time_entries")
    assert (resumed.status, resumed.records_total) == ("succeeded", 1)
    assert TimeEntry.objects.filter(system=tryton).count() == 3
    assert pulled_events(tryton).filter(record_type="pull", outcome="succeeded", run=resumed).exists()


def test_a_wrong_password_fails_the_run_with_trytons_refusal_and_keeps_the_cursor(tryton):
    pull(tryton, "clients")
    stored = cursor_of(tryton, "clients")
    tryton.credentials = {"password": "not-the-password"}
    tryton.save()

    runs = pull_all(tryton)

    (run,) = runs  # the later kinds wait for the next poll
    assert (run.flow, run.status, run.records_total) == ("pull_clients", "failed", 0)
    assert run.message == "tryton refused the session or login for common.db.login"
    event = pulled_events(tryton).get(outcome="failed")
    assert (event.record_type, event.external_id, event.run) == ("pull", "clients", run)
    assert (event.error_code, event.error_message) == ("authentication_failed", run.message)
    assert event.payload == {"record_type": "clients", "cursor": stored.cursor, "retryable": False}
    assert "not-the-password" not in str(event.payload) + event.error_message
    after = cursor_of(tryton, "clients")
    assert (after.cursor, after.advanced_at) == (stored.cursor, stored.advanced_at)


def test_time_pulled_before_its_people_and_projects_is_a_missing_mapping_until_they_are_pulled(tryton, tryton_server):
    ids = tryton_server.ids
    run = pull(tryton, "time_entries")

    assert (run.status, run.records_total, run.records_failed) == ("failed", 3, 3)
    assert not TimeEntry.objects.filter(system=tryton).exists()
    failures = pulled_events(tryton).filter(record_type="time_entry", outcome="failed")
    assert {e.error_code for e in failures} == {"missing_mapping"}
    assert failures.first().error_message == (
        f"unknown person '{ids['employee']}': 'tryton' has sent no person with this id; "
        f"unknown project '{ids['project']}': 'tryton' has sent no project with this id"
    )

    # Pulled in order from the start, the same records are stored and succeed.
    runs = pull_all(tryton, from_start=True)
    assert [r.status for r in runs] == ["succeeded"] * 5
    assert TimeEntry.objects.filter(system=tryton).count() == 3
    assert pulled_events(tryton).filter(record_type="time_entry", outcome="succeeded").count() == 3


def test_a_pull_records_runs_only_for_its_own_system(tryton, northwind):
    pull(tryton, "clients")
    assert not SyncRun.objects.filter(reported_by=northwind.harvest, flow__startswith="pull_").exists()
    assert not Client.objects.filter(system=northwind.harvest, name="Northwind Traders").exists()
