"""What a member sees on the overview and the sync run pages."""

from datetime import UTC, datetime

from opsview.telemetry.models import SyncEvent, SyncRun


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
        workspace=northwind.workspace, event_id="ev-2", run=run, record_type="time_entry", external_id="TE-OK",
        source_system=northwind.harvest, target_system=northwind.erp, outcome="succeeded",
        occurred_at=datetime(2026, 11, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    client.force_login(olivia)

    everything = client.get(f"/runs/{run.pk}/").content.decode()
    failed_only = client.get(f"/runs/{run.pk}/?outcome=failed").content.decode()

    assert "TE-OK" in everything and "PERIOD_CLOSED" in everything
    assert "PERIOD_CLOSED" in failed_only and "TE-OK" not in failed_only


def test_runs_list_paginates_and_filters(client, olivia, northwind):
    for n in range(60):
        SyncRun.objects.create(
            workspace=northwind.workspace, reported_by=northwind.harvest, flow=f"flow_{n}",
            source_system=northwind.harvest, target_system=northwind.erp, status="succeeded",
        )  # fmt: skip
    client.force_login(olivia)

    first = client.get("/runs/").content.decode()
    running = client.get("/runs/?status=running").content.decode()

    assert "Page 1 of 2 · 61 in all" in first
    assert "time_to_erp" in running and "flow_1<" not in running
