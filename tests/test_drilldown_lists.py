"""The lists charts open: the same rows the KPI counted, scoped by role, with a constant number of queries."""

import re
from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsview.records.models import TimeEntry
from opsview.telemetry.models import SyncEvent
from tests.conftest import signed_in
from tests.kpi_books import at

LIST = "/records/time-entries/"
PERIOD = "start=2026-11-01&end=2026-11-20"


def test_unapproved_entries_of_one_age_bucket(client, northwind, erin):
    page = signed_in(client, erin).get(f"{LIST}?{PERIOD}&status=unapproved&age=15-30")
    assert "Time waiting for approval (unapproved time aging) · 15–30 days since the work date" in page.text
    assert "<strong>2</strong> entries · <strong>15.00</strong> h · EUR 2,250.00" in page.text
    assert page.text.count("Wendy Worker") == 2
    empty = client.get(f"{LIST}?{PERIOD}&status=unapproved&age=0-7")
    assert "<strong>0</strong> entries" in empty.text and "No time entries match." in empty.text


def test_a_manager_lists_only_their_projects_entries(client, northwind, max_manager):
    page = signed_in(client, max_manager).get(f"{LIST}?{PERIOD}&status=unapproved")
    assert "<strong>1</strong> entry" in page.text
    assert "Northwind Rollout" in page.text and "Northwind Audit" not in page.text


def test_an_outsider_gets_404_for_a_foreign_filter(client, northwind, contoso, oscar):
    signed_in(client, oscar)
    assert client.get(f"{LIST}?project={northwind.other_project.pk}").status_code == 404
    assert client.get(f"/records/sync-events/?system={northwind.erp.pk}").status_code == 404
    page = client.get(f"{LIST}?{PERIOD}")
    assert "Contoso Rollout" in page.text and "Northwind" not in page.text


def test_the_filters_keep_the_drill_down(client, northwind, erin):
    page = signed_in(client, erin).get(f"{LIST}?{PERIOD}&status=unapproved&age=15-30")
    assert '<input type="hidden" name="status" value="unapproved">' in page.text
    assert '<input type="hidden" name="age" value="15-30">' in page.text


def test_unbilled_and_billed_lists(client, northwind, erin):
    TimeEntry.objects.filter(project=northwind.managed_project).update(
        status="approved", approved_at=at("2026-11-03 10:00")
    )
    signed_in(client, erin)
    unbilled = client.get(f"{LIST}?{PERIOD}&status=unbilled&age=15-30")
    assert "1 entry" in unbilled.text.replace("<strong>", "").replace("</strong>", "")
    assert "15–30 days since approval" in unbilled.text
    billed = client.get(f"{LIST}?{PERIOD}&status=billed&lag=0-7")
    assert "Time invoiced in the period (billing lag) · 0–7 days from work to invoice" in billed.text


def test_list_queries_do_not_grow_with_rows(client, northwind, erin):
    signed_in(client, erin)
    url = f"{LIST}?{PERIOD}&status=unapproved"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(30):
        TimeEntry.objects.create(
            workspace=northwind.workspace,
            system=northwind.harvest,
            external_id=f"TE-X{n}",
            person=northwind.worker,
            project=northwind.other_project,
            work_date=date(2026, 11, 10),
            hours=Decimal("1"),
            currency="EUR",
            status="draft",
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert "<strong>32</strong> entries" in page.text
    assert len(many) == len(few) <= 12


def test_sync_events_of_one_system_and_day(client, northwind, erin):
    run = SyncEvent.objects.get(event_id="ev-1").run
    SyncEvent.objects.create(
        workspace=northwind.workspace,
        event_id="ev-ok",
        run=run,
        record_type="time_entry",
        external_id="TE-PR-2",
        source_system=northwind.harvest,
        target_system=northwind.erp,
        outcome="succeeded",
        occurred_at=at("2026-11-03 09:00"),
    )
    signed_in(client, erin)
    both = client.get(f"/records/sync-events/?{PERIOD}&target={northwind.erp.pk}&day=2026-11-03")
    assert "Succeeded and failed record events sent to Tryton on 3 Nov 2026" in both.text
    assert "<strong>2</strong> events" in both.text
    failed = client.get(f"/records/sync-events/?{PERIOD}&target={northwind.erp.pk}&day=2026-11-03&outcome=failed")
    assert "<strong>1</strong> event" in failed.text
    assert "PERIOD_CLOSED" in failed.text and "posting period 2026-10 is closed" in failed.text


def test_failed_postings_of_a_project(client, northwind, max_manager):
    page = signed_in(client, max_manager).get(f"/dashboards/projects/?{PERIOD}")
    link = re.search(r'<a class="bad" href="([^"]+)">1</a>', page.text).group(1).replace("&amp;", "&")
    listing = client.get(link)
    assert "Failed postings to the ERP not fixed since 1 Nov 2026" in listing.text
    assert "<strong>1</strong> event" in listing.text and "TE-PR-1" in listing.text


def test_sync_events_reject_a_malformed_day(client, northwind, erin):
    page = signed_in(client, erin).get("/records/sync-events/?day=tomorrow")
    assert page.status_code == 400 and "day a date" in page.text
