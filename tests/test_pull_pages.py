"""Pulls from Harvest and Xero (local servers answering as their contracts say): a page is stored item by item.

Valid records are stored even when others on the same page are not; each one set
aside is a failed event that names its problem, as a missing mapping when it refers
to something the system has not sent.
"""

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsview.pulls import pages
from opsview.pulls.models import PullCursor
from opsview.pulls.runs import pull, pull_all
from opsview.queues import state_rules, sync_failures
from opsview.records.models import Client, Invoice, Person, Project, TimeEntry
from opsview.systems.kinds import kinds_for
from opsview.telemetry.models import SyncEvent
from tests.connectors.contracts import contract
from tests.connectors.test_harvest_contract import TOKEN
from tests.connectors.test_xero_contract import TENANT, XeroDouble
from tests.pull_support import HarvestApi, connect_harvest


@pytest.fixture
def harvest(ada, northwind, server):
    return connect_harvest(ada, northwind.harvest, server)


def events(system, **filters):
    return SyncEvent.objects.filter(source_system=system, event_id__startswith="pull:", **filters)


def test_a_harvest_pull_stores_every_kind_from_the_contract_examples(harvest, server):
    double = HarvestApi(server)
    runs = pull_all(harvest)

    assert double.problems == []
    assert [(r.flow, r.status) for r in runs] == [(f"pull_{k.name}", "succeeded") for k in kinds_for("harvest")]
    assert Client.objects.get(system=harvest, external_id="5735776").name == "123 Industries"
    kim = Person.objects.get(system=harvest, external_id="1782959")
    assert (kim.name, kim.email, kim.weekly_capacity_hours) == ("Kim Allen", "kimallen@example.com", 35)
    assert Project.objects.get(system=harvest, external_id="14308069").client.name == "123 Industries"
    entry = TimeEntry.objects.get(system=harvest, external_id="636709355")
    assert (entry.person, entry.project.external_id, str(entry.hours), entry.status) == (
        kim,
        "14307913",
        "2.11",
        "approved",
    )
    assert entry.currency == "EUR"  # Harvest's time has no currency: the workspace's is used
    invoice = Invoice.objects.get(system=harvest, external_id="13150403")
    assert (invoice.number, invoice.status, invoice.project.external_id) == ("1001", "issued", "14308069")
    assert events(harvest, outcome="failed").count() == 0
    assert [s.query["page"] for s in server.seen if s.path == "/v2/time_entries"] == [["1"], ["2"]]


def test_invalid_items_become_failed_events_while_the_rest_of_the_page_is_stored(harvest, server):
    double = HarvestApi(server)
    pull_all(harvest, ["clients", "people", "projects"])
    good, too_long, unmapped = copy.deepcopy(double.data["time_entries"][:3])
    too_long.update({"id": 9001, "hours": 25.0})
    unmapped.update({"id": 9002, "project": {"id": 777, "name": "Unknown", "code": "X"}})
    double.data["time_entries"] = [good, too_long, unmapped]

    run = pull(harvest, "time_entries")

    assert (run.status, run.records_total, run.records_succeeded, run.records_failed) == ("partial", 3, 1, 2)
    read = [str(good["id"]), "9001", "9002"]
    assert list(
        TimeEntry.objects.filter(system=harvest, external_id__in=read).values_list("external_id", flat=True)
    ) == [str(good["id"])]
    assert events(harvest, record_type="time_entry", outcome="succeeded").get().external_id == str(good["id"])
    rejected = events(harvest, record_type="time_entry", outcome="failed")
    invalid, missing = rejected.get(external_id="9001"), rejected.get(external_id="9002")
    assert (invalid.error_code, invalid.error_message) == ("validation_rejected", "hours: must be at most 24")
    assert invalid.payload["hours"] == "25.00" and invalid.run == run
    assert missing.error_code == "missing_mapping"
    assert missing.error_message == "unknown project '777': 'harvest' has sent no project with this id"
    # Both pages are stored, so the cursor is past them.
    assert PullCursor.objects.get(system=harvest, record_type="time_entries").cursor.startswith('{"since":')

    # Read again unchanged, the failures are not new events; fixed at the source, the record is stored.
    unmapped["project"] = copy.deepcopy(good["project"])
    unmapped["updated_at"] = "2017-06-28T09:00:00Z"
    again = pull(harvest, "time_entries")
    assert events(harvest, record_type="time_entry", outcome="failed").count() == 2
    assert events(harvest, external_id="9002", outcome="succeeded").get().run == again
    assert TimeEntry.objects.filter(system=harvest, external_id="9002").exists()


def test_a_record_older_than_the_stored_one_is_skipped_not_applied(harvest, server, api):
    HarvestApi(server)
    pull_all(harvest, ["clients"])
    # An integration job already reported a newer version of this client through the API.
    newer = {"external_id": "5735776", "name": "123 Industries Ltd", "updated_at": "2030-01-01T00:00:00Z"}
    assert api.post("/api/v1/states/clients/", {"items": [newer]}, format="json").status_code == 200

    run = pull(harvest, "clients", from_start=True)

    assert (run.status, run.records_skipped) == ("succeeded", 2)
    assert Client.objects.get(system=harvest, external_id="5735776").name == "123 Industries Ltd"
    skipped = events(harvest, outcome="skipped").get()
    assert (skipped.external_id, skipped.error_message) == ("5735776", "older than the stored record; not applied")


def test_a_refused_token_fails_the_run_and_shows_as_a_failed_pull_event(harvest, server):
    HarvestApi(server)
    harvest.credentials = {"access_token": "revoked-token"}
    harvest.save()

    (run,) = pull_all(harvest)

    assert (run.flow, run.status) == ("pull_clients", "failed")
    event = events(harvest, record_type="pull").get()
    assert (event.outcome, event.external_id, event.error_code) == ("failed", "clients", "http_401")
    assert "The access token is invalid" in event.error_message
    assert PullCursor.objects.get(system=harvest, record_type="clients").cursor == ""


def test_a_failed_pull_is_an_open_exception_until_a_later_pull_succeeds(harvest, server):
    from opsview.queues.models import ExceptionItem

    HarvestApi(server)
    harvest.credentials = {"access_token": "revoked-token"}
    harvest.save()
    pull_all(harvest)

    item = ExceptionItem.objects.for_workspace(harvest.workspace).get(record_type="pull")
    assert (item.status, item.external_id, item.system, item.error_code) == ("open", "clients", harvest, "http_401")
    assert item.last_event == events(harvest, record_type="pull").get()

    harvest.credentials = {"access_token": TOKEN}
    harvest.save()
    pull_all(harvest, ["clients"])

    item.refresh_from_db()
    assert (item.status, item.resolution) == ("resolved", "automatic")


def test_settings_that_do_not_fit_the_connector_fail_the_run_and_say_which(harvest):
    harvest.connector_settings = {"base_url": "http://127.0.0.1:9/v2", "acount_id": "typo"}
    harvest.save()

    (run,) = pull_all(harvest)

    assert run.status == "failed" and "acount_id" in run.message
    event = events(harvest, record_type="pull").get()
    assert event.error_code == "configuration_error" and TOKEN not in event.error_message


def test_a_xero_pull_reads_contacts_users_projects_time_and_invoices(northwind, server):
    specs = {"accounting": contract("xero/xero_accounting.yaml"), "projects": contract("xero/xero-projects.yaml")}
    accounting, projects = specs["accounting"], specs["projects"]
    contact = copy.deepcopy(accounting.example("/Contacts")["Contacts"][0])
    invoice = copy.deepcopy(accounting.example("/Invoices")["Invoices"][1])
    invoice["Contact"]["ContactID"] = contact["ContactID"]
    project = {**copy.deepcopy(projects.example("/Projects")["items"][0]), "contactId": contact["ContactID"]}
    users = projects.example("/ProjectsUsers")["items"]
    entry = {
        **copy.deepcopy(projects.example("/Projects/{projectId}/Time")["items"][0]),
        "userId": users[0]["userId"],
        "projectId": project["projectId"],
    }
    task = projects.example("/Projects/{projectId}/Tasks")["items"][0]
    double = XeroDouble(
        server,
        specs,
        invoices=[invoice],
        projects=[project],
        contacts=[contact],
        users=users,
        time={project["projectId"]: [entry]},
        tasks={project["projectId"]: [task]},
    )
    xero = northwind.erp
    xero.vendor = "xero"
    xero.connector_settings = {
        "tenant_id": TENANT,
        "accounting_url": f"{server.url}/api.xro/2.0",
        "projects_url": f"{server.url}/projects.xro/2.0",
    }
    xero.credentials = {"access_token": "xero-access-token"}
    xero.save()

    runs = pull_all(xero)

    assert double.problems == []
    assert [r.status for r in runs] == ["succeeded"] * 5
    stored = TimeEntry.objects.get(system=xero)
    assert (stored.external_id, stored.person.external_id) == (entry["timeEntryId"], users[0]["userId"])
    assert stored.project.client.name == contact["Name"]
    assert Invoice.objects.get(system=xero).client.external_id == contact["ContactID"]

    # Xero stamps projects, users and time with the time they were read: read again, nothing is a new event.
    count = events(xero).count()
    assert [r.status for r in pull_all(xero)] == ["succeeded"] * 5
    assert events(xero).count() == count


def test_a_pull_that_finds_the_cursor_moved_by_another_stops_without_storing_its_page(harvest, server, monkeypatch):
    HarvestApi(server)
    real_store_events = pages.store_events

    def another_pull_moves_the_cursor_first(workspace, new_events):
        PullCursor.objects.filter(system=harvest, record_type="clients").update(cursor="moved by another pull")
        return real_store_events(workspace, new_events)

    monkeypatch.setattr(pages, "store_events", another_pull_moves_the_cursor_first)
    run = pull(harvest, "clients")

    assert run.status == "cancelled"
    assert run.message == "another pull of clients from 'harvest' moved the cursor; this one stopped"
    assert not Client.objects.filter(system=harvest, external_id="5735776").exists()
    assert not events(harvest).exists()
    # (The move simulated here is in the same transaction as the page, so it is undone with it.)
    assert PullCursor.objects.get(system=harvest, record_type="clients").cursor == ""


def test_storing_a_page_takes_the_same_queries_for_40_records_as_for_4(harvest, server, monkeypatch):
    # The pull's own queries; the exception queues' detection after storing is bounded in tests/test_queue_*.
    monkeypatch.setattr(state_rules, "on_states", lambda *args: None)
    monkeypatch.setattr(sync_failures, "on_sync_events", lambda *args: None)
    double = HarvestApi(server)
    pull_all(harvest, ["clients", "people", "projects"])
    template = double.data["time_entries"][0]
    harvest.connector_settings = {**harvest.connector_settings, "per_page": 100}
    harvest.save()

    def pull_entries(count, first_id):
        double.data["time_entries"] = [{**copy.deepcopy(template), "id": first_id + n} for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            pull(harvest, "time_entries")
        return len(queries)

    pull_entries(1, 1)  # the first pull of a kind also makes its cursor
    # PostgreSQL draws the new events' ids in one query before its COPY (which is not counted here); two more
    # keep the sides that hold each entry's hours (records.sides: the entries locked, then updated).
    assert pull_entries(4, 1000) == pull_entries(40, 2000) <= (20 if connection.vendor == "postgresql" else 19)


def test_a_record_with_a_nul_character_is_a_failed_event_that_can_be_stored(harvest, server):
    double = HarvestApi(server)
    double.data["clients"][0]["name"] = "123 Industries\u0000"

    run = pull(harvest, "clients")

    assert (run.status, run.records_succeeded, run.records_failed) == ("partial", 1, 1)
    event = events(harvest, outcome="failed").get()
    assert event.error_code == "validation_rejected"
    assert event.error_message == "name: must not contain the NUL character (\\u0000)"
    assert event.payload["name"] == "123 Industries\\u0000"
