"""What a member sees on the overview and the sync run pages."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.roles import Role
from tests.conftest import make_user
from tests.kpi_books import Books


def test_overview_shows_systems_counts_and_recent_runs(client, olivia, northwind):
    client.force_login(olivia)
    page = client.get("/").content.decode()

    assert "<h1>Northwind</h1>" in page
    assert "Harvest" in page and "Tryton" in page
    assert "time_to_erp" in page
    assert "Operator" in page  # the role badge


def test_an_empty_workspace_explains_what_to_do(client, db):
    from opsview.workspaces.models import Workspace
    from tests.conftest import make_user

    user = make_user("newbie", Workspace.objects.create(name="Fresh Firm"), "admin")
    client.force_login(user)
    page = client.get("/").content.decode()

    assert "No systems are connected yet" in page
    assert "No sync runs reported yet" in page


def test_a_user_without_workspace_is_told_so(client, db):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("loner", password="x" * 12))
    assert "You are not a member of any workspace" in client.get("/").content.decode()


def test_run_page_lists_its_events_and_filters_by_outcome(client, olivia, northwind):
    run = SyncRun.objects.for_workspace(northwind.workspace).get()
    SyncEvent.objects.create(
        workspace=northwind.workspace,
        event_id="ev-2",
        run=run,
        record_type="time_entry",
        external_id="TE-OK",
        source_system=northwind.harvest,
        target_system=northwind.erp,
        outcome="succeeded",
        occurred_at=datetime(2026, 11, 3, 1, tzinfo=UTC),
    )
    client.force_login(olivia)

    everything = client.get(f"/runs/{run.pk}/").content.decode()
    failed_only = client.get(f"/runs/{run.pk}/?outcome=failed").content.decode()

    assert "TE-OK" in everything and "PERIOD_CLOSED" in everything
    assert "PERIOD_CLOSED" in failed_only and "TE-OK" not in failed_only


def test_runs_list_paginates_and_filters(client, olivia, northwind):
    for n in range(60):
        SyncRun.objects.create(
            workspace=northwind.workspace,
            reported_by=northwind.harvest,
            flow=f"flow_{n}",
            source_system=northwind.harvest,
            target_system=northwind.erp,
            status="succeeded",
        )
    client.force_login(olivia)

    first = client.get("/runs/").content.decode()
    running = client.get("/runs/?status=running").content.decode()

    assert "Page 1 of 2 · 61 in all" in first
    assert "time_to_erp" in running and "flow_1<" not in running


def tile_value(page, label):
    value = re.search(rf'<span class="label">{label}</span><span class="value[^"]*">([\d,]+)</span>', page).group(1)
    return int(value.replace(",", ""))


def test_the_overview_counts_sync_outcomes_as_the_dashboards_do(client, db):
    # Auckland is 13 hours ahead of UTC: the last 7 local days and the last 7×24 hours in UTC differ by half a day.
    books = Books(time_zone="Pacific/Auckland")
    vera = make_user("vera", books.workspace, Role.EXECUTIVE)
    today = timezone.localtime(timezone.now(), ZoneInfo("Pacific/Auckland")).date()
    first = today - timedelta(days=6)
    first_midnight = datetime.combine(first, time.min, ZoneInfo("Pacific/Auckland")).astimezone(UTC)

    def near_midnight(minutes):
        return f"{first_midnight + timedelta(minutes=minutes):%Y-%m-%d %H:%M}"

    books.events(2, "failed", near_midnight(-1))  # the evening before the first local day: not counted
    books.events(3, "succeeded", near_midnight(1))  # just after it began: counted
    client.force_login(vera)

    page = client.get("/").content.decode()
    overview = {name: tile_value(page, name.capitalize()) for name in ("succeeded", "failed")}
    period = {"start": first.isoformat(), "end": today.isoformat()}
    kpi = client.get("/api/v1/kpis/sync-success-rate/", period).json()
    dashboard = client.get("/dashboards/executive/", period)
    tile = next(t for t in dashboard.context["tiles"] if t.label == "Sync success rate")

    assert overview == {"succeeded": 3, "failed": 0}
    assert {"succeeded": kpi["succeeded"], "failed": kpi["failed"]} == overview
    assert tile.value == "100.0%"
    assert tile_value(page, "Record events, last 7 days") == 3


def test_the_runs_filters_show_what_was_asked_and_an_unknown_value_matches_nothing(client, olivia, northwind):
    run = SyncRun.objects.for_workspace(northwind.workspace).get()
    client.force_login(olivia)

    running = client.get("/runs/?status=running").content.decode()
    unknown = client.get("/runs/?status=bogus").content.decode()
    no_outcome = client.get(f"/runs/{run.pk}/?outcome=bogus").content.decode()

    assert '<option value="running" selected>' in running
    assert "time_to_erp" not in unknown and " selected>" not in unknown
    assert "No record events with outcome “bogus” in this run." in no_outcome
