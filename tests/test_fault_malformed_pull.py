"""A record the source sends malformed is refused with a clear error; the rest of the pull goes on."""

import copy

import pytest

from opsview.pulls.runs import pull_all
from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice, TimeEntry
from tests.pull_support import HarvestApi, connect_harvest
from tests.test_pull_pages import events


@pytest.fixture
def harvest(ada, northwind, server):
    return connect_harvest(ada, northwind.harvest, server, per_page=1)


def test_an_unreadable_time_entry_fails_its_kind_with_a_clear_error_and_the_invoices_are_still_pulled(harvest, server):
    double = HarvestApi(server)
    good = copy.deepcopy(double.data["time_entries"][0])
    broken = copy.deepcopy(good) | {"id": 9002, "user": None}  # Harvest sent the entry without its person
    double.data["time_entries"] = [good, broken]

    runs = {run.flow: run for run in pull_all(harvest)}

    time_run = runs["pull_time_entries"]
    assert (time_run.status, time_run.records_succeeded) == ("failed", 1)
    assert time_run.message.startswith("A record Harvest sent among its time entries could not be read (TypeError: ")
    assert "the pull goes on with the other kinds" in time_run.message
    assert TimeEntry.objects.filter(system=harvest, external_id=str(good["id"])).exists()  # the page before it
    assert runs["pull_invoices"].status == "succeeded" and Invoice.objects.filter(system=harvest).exists()
    failure = events(harvest, record_type="pull", outcome="failed").get()
    assert (failure.error_code, failure.run) == ("unreadable_record", time_run)
    assert ExceptionItem.objects.filter(workspace=harvest.workspace, record_type="pull", status="open").count() == 1

    # Fixed at the source, the next pull resumes where it stopped and the exception resolves by itself.
    broken["user"] = copy.deepcopy(good["user"])
    before = len(server.seen)
    again = {run.flow: run for run in pull_all(harvest, ["time_entries"])}

    assert again["pull_time_entries"].status == "succeeded"
    assert [s.query["page"] for s in server.seen[before:]] == [["2"]]  # not the stored first page again
    assert TimeEntry.objects.filter(system=harvest, external_id="9002").exists()
    assert ExceptionItem.objects.get(workspace=harvest.workspace, record_type="pull").status == "resolved"
