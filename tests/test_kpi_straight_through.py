"""Straight-through processing: records that reached the ERP untouched, against hand-worked answers."""

import re
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from opsview.kpis.rollups import rollup_days
from opsview.kpis.scope import Scope
from opsview.kpis.straight_through import first_arrivals, straight_through
from opsview.replay.models import Replay
from opsview.telemetry.models import SyncEvent
from tests.conftest import signed_in
from tests.kpi_books import at, day
from tests.queue_support import exceptions, failure, send, success

PERIOD = {"start": "2026-11-10", "end": "2026-11-11"}


@pytest.fixture
def sent(api, northwind, contoso):
    """Northwind's records to Tryton over 10–11 November, worked by hand:

    straight through: TE-1 (10th), INV-1 (10th), TE-2 (11th);
    touched: TE-3 failed and was resolved by a later success (10th), INV-2 failed, was replayed with
    an edited payload and then succeeded (11th), TE-6 failed on the 9th and reached the ERP on the 11th;
    not counted: TE-4 and TE-7 (reached the ERP on the 9th, the previous period, where they went
    straight through; TE-7 was sent again on the 10th), TE-5 (failed, never reached the ERP), and
    Contoso's record (another workspace).
    """
    send(
        api,
        success("TE-1", at=at("2026-11-10 09:00")),
        success("INV-1", at=at("2026-11-10 10:00"), record_type="invoice"),
        success("TE-2", at=at("2026-11-11 09:00")),
        failure("TE-3", at=at("2026-11-10 11:00")),
        failure("INV-2", at=at("2026-11-11 10:00"), record_type="invoice"),
        success("TE-4", at=at("2026-11-09 09:00")),
        failure("TE-5", at=at("2026-11-10 13:00")),
        failure("TE-6", at=at("2026-11-09 13:00")),
        success("TE-7", at=at("2026-11-09 14:00")),
        success("TE-7", at=at("2026-11-10 14:00")),
    )
    invoice = exceptions(northwind, external_id="INV-2").get()
    Replay.objects.create(
        workspace=northwind.workspace,
        exception=invoice,
        target_system=northwind.erp,
        record_type="invoice",
        external_id="INV-2",
        idempotency_key="replay-inv-2",
        edited_payload={"amount": "100.00"},
    )
    send(
        api,
        success("TE-3", at=at("2026-11-10 12:00")),
        success("INV-2", at=at("2026-11-11 12:00"), record_type="invoice"),
        success("TE-6", at=at("2026-11-11 13:00")),
    )
    SyncEvent.objects.create(
        workspace=contoso.workspace,
        event_id="contoso-1",
        record_type="time_entry",
        external_id="TE-1",
        source_system=contoso.harvest,
        target_system=contoso.erp,
        outcome="succeeded",
        occurred_at=at("2026-11-10 09:00"),
    )
    assert exceptions(northwind, external_id="TE-3").get().status == "resolved"
    return northwind


def scope_of(firm, start="2026-11-10", end="2026-11-11"):
    return Scope(workspace=firm.workspace, start=day(start), end=day(end), now=datetime(2026, 11, 20, tzinfo=UTC))


def test_share_per_system_kind_and_day(sent):
    result = straight_through(scope_of(sent))
    assert (result["records"], result["straight"], result["share"]) == (6, 3, 0.5)
    [tryton] = result["systems"]
    assert (tryton["system"], tryton["records"], tryton["straight"], tryton["share"]) == ("Tryton", 6, 3, 0.5)
    assert [(k["kind"], k["records"], k["straight"], k["share"]) for k in tryton["kinds"]] == [
        ("invoice", 2, 1, 0.5),
        ("time_entry", 4, 2, 0.5),
    ]
    assert [(d["day"], d["records"], d["straight"], d["share"]) for d in result["days"]] == [
        (day("2026-11-10"), 3, 2, 0.6667),
        (day("2026-11-11"), 3, 1, 0.3333),
    ]


@pytest.mark.parametrize("rolled_up", [["2026-11-10"], ["2026-11-10", "2026-11-11"], ["2026-11-11"]])
def test_rolled_up_days_give_the_same_figures_and_a_record_touched_later_counts_as_touched(sent, api, rolled_up):
    scope = scope_of(sent)
    live = straight_through(scope)
    rollup_days(sent.workspace, [day(rolled) for rolled in rolled_up], now=datetime(2026, 11, 20, tzinfo=UTC))
    assert straight_through(scope) == live

    # TE-1 went straight through on the 10th; a week later it fails to post again and a person must look.
    send(api, failure("TE-1", at=at("2026-11-17 09:00")))
    result = straight_through(scope)
    assert (result["records"], result["straight"]) == (6, 2)
    assert [(d["day"], d["straight"]) for d in result["days"]] == [(day("2026-11-10"), 1), (day("2026-11-11"), 1)]


def test_the_previous_period_and_an_empty_one(sent):
    before = straight_through(scope_of(sent, "2026-11-08", "2026-11-09"))
    assert (before["records"], before["straight"], before["share"]) == (2, 2, 1.0)
    empty = straight_through(scope_of(sent, "2026-10-01", "2026-10-01"))
    assert (empty["records"], empty["share"], empty["systems"]) == (0, None, [])
    assert empty["days"] == [{"day": day("2026-10-01"), "records": 0, "straight": 0, "share": None}]


def test_the_api_and_the_dashboard_show_the_same_figure(sent, erin):
    client = signed_in(APIClient(), erin)
    body = client.get("/api/v1/kpis/straight-through/", PERIOD).json()
    assert (body["records"], body["straight"], body["share"]) == (6, 3, 0.5)
    assert body["systems"][0]["kinds"][1] == {
        "records": 4,
        "straight": 2,
        "share": 0.5,
        "kind": "time_entry",
        "label": "Time entry",
    }
    assert body["days"][1] == {"records": 3, "straight": 1, "share": 0.3333, "day": "2026-11-11"}
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/kpis/straight-through/" in schema["paths"]

    page = signed_in(client, erin).get("/dashboards/executive/", PERIOD).content.decode()
    tile = re.search(
        r'Straight-through processing</a></span>\s*<span class="value">([^<]*)</span>\s*'
        r'<span class="change worse">([^<]*) <span class="was">vs ([^<]*)</span>',
        page,
    )
    assert tile.groups() == (f"{body['share'] * 100:.1f}%", "-50.0 pts", "100.0%")
    assert "The share of the period&#x27;s time entries and invoices that reached the ERP" in page


def test_the_trend_chart_and_its_csv(sent, erin):
    client = signed_in(APIClient(), erin)
    page = client.get("/dashboards/executive/", PERIOD).content.decode()
    assert "<h2>Straight-through processing" in page
    csv = client.get("/dashboards/executive/straight-through.csv", PERIOD).content.decode().splitlines()
    assert csv[1:] == ["2026-11-10,3,2,66.67", "2026-11-11,3,1,33.33"]


def listed(client, show, **params):
    """The records the sync event list shows for ``show`` over the period, and its page."""
    page = client.get("/records/sync-events/", PERIOD | {"show": show} | params)
    assert page.status_code == 200
    return sorted(re.findall(r"<code>([A-Z]+-\d+)</code>", page.content.decode())), page.content.decode()


def test_the_tile_links_to_the_records_it_counted(sent, erin):
    client = signed_in(APIClient(), erin)
    page = client.get("/dashboards/executive/", PERIOD).content.decode()
    link = "/records/sync-events/?start=2026-11-10&amp;end=2026-11-11&amp;show=reached"
    assert f'<a href="{link}">Straight-through processing</a>' in page

    reached, body = listed(client, "reached")
    assert reached == ["INV-1", "INV-2", "TE-1", "TE-2", "TE-3", "TE-6"]
    assert "Records that reached the ERP, 10 Nov – 11 Nov 2026" in body


def test_the_list_shows_exactly_the_straight_through_and_the_touched_records(sent, erin):
    client = signed_in(APIClient(), erin)
    result = straight_through(scope_of(sent))
    straight, body = listed(client, "straight-through")
    assert straight == ["INV-1", "TE-1", "TE-2"]
    assert len(straight) == result["straight"]
    assert "Records that reached the ERP with no one touching them, 10 Nov – 11 Nov 2026" in body
    touched, body = listed(client, "touched")
    assert touched == ["INV-2", "TE-3", "TE-6"]
    assert len(touched) == result["records"] - result["straight"]
    assert "<strong>3</strong> events" in body
    # Each record once, at its first arrival: TE-3's failure and TE-7's second sending are not listed.
    assert body.count("<code>TE-3</code>") == 1


def test_the_chart_points_link_to_that_days_records(sent, erin):
    client = signed_in(APIClient(), erin)
    page = client.get("/dashboards/executive/", PERIOD).content.decode()
    assert "/records/sync-events/?start=2026-11-10&amp;end=2026-11-11&amp;show=reached&amp;day=2026-11-11" in page
    day_11, body = listed(client, "reached", day="2026-11-11")
    assert day_11 == ["INV-2", "TE-2", "TE-6"]
    assert "Records that reached the ERP, 11 Nov 2026" in body
    straight, _ = listed(client, "straight-through", day="2026-11-10")
    assert straight == ["INV-1", "TE-1"]


def test_another_workspaces_records_never_appear(sent, contoso, erin, oscar):
    events = first_arrivals(scope_of(sent))
    assert set(events.values_list("workspace_id", flat=True)) == {sent.workspace.pk}
    assert not events.filter(event_id="contoso-1").exists()
    client = signed_in(APIClient(), erin)
    for show in ("reached", "straight-through", "touched"):
        records, _ = listed(client, show)
        assert records.count("TE-1") <= 1
    # Contoso's executive sees only Contoso's one record, never Northwind's.
    theirs = signed_in(APIClient(), oscar)
    assert listed(theirs, "reached")[0] == ["TE-1"]
    assert listed(theirs, "straight-through")[0] == ["TE-1"]
    assert listed(theirs, "touched")[0] == []
    assert straight_through(scope_of(contoso))["straight"] == 1
