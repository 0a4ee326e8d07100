"""A job starts a sync run, reports progress and finishes it."""

from opsview.telemetry.models import SyncRun

START = {"flow": "time_entries_to_erp", "source_system": "harvest", "target_system": "tryton", "records_total": 120}


def start(api, **overrides):
    return api.post("/api/v1/sync-runs/", START | overrides, format="json")


def test_start_progress_finish(api, northwind):
    run_id = start(api, external_id="job-7781").json()["id"]
    progress = api.patch(f"/api/v1/sync-runs/{run_id}/", {"records_succeeded": 60, "records_failed": 2}, format="json")
    finish = api.post(
        f"/api/v1/sync-runs/{run_id}/finish/",
        {"status": "partial", "records_succeeded": 110, "records_failed": 4, "records_skipped": 6},
        format="json",
    )

    assert progress.json()["status"] == "running"
    assert progress.json()["records_succeeded"] == 60
    body = finish.json()
    assert (body["status"], body["records_failed"], body["source_system"]) == ("partial", 4, "harvest")
    run = SyncRun.objects.get(pk=run_id)
    assert run.workspace == northwind.workspace and run.reported_by == northwind.harvest
    assert run.finished_at is not None and run.external_id == "job-7781"


def test_finishing_twice_the_same_way_is_harmless_but_otherwise_conflicts(api):
    run_id = start(api).json()["id"]
    first = api.post(f"/api/v1/sync-runs/{run_id}/finish/", {"status": "succeeded"}, format="json")
    again = api.post(f"/api/v1/sync-runs/{run_id}/finish/", {"status": "succeeded"}, format="json")
    other = api.post(f"/api/v1/sync-runs/{run_id}/finish/", {"status": "failed"}, format="json")
    late_progress = api.patch(f"/api/v1/sync-runs/{run_id}/", {"records_failed": 1}, format="json")

    assert first.status_code == again.status_code == 200
    assert other.status_code == late_progress.status_code == 409
    assert "already finished as 'succeeded'" in other.json()["detail"]
    assert SyncRun.objects.get(pk=run_id).status == "succeeded"


def test_counters_cannot_exceed_the_total(api):
    run_id = start(api).json()["id"]
    response = api.patch(
        f"/api/v1/sync-runs/{run_id}/", {"records_succeeded": 100, "records_failed": 30}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "records_total", "message": "succeeded + failed + skipped (130) exceeds records_total (120)"}
    ]
    assert SyncRun.objects.get(pk=run_id).records_succeeded == 0


def test_start_validates_fields_and_systems(api):
    response = start(api, flow="Time Entries!", target_system="sap", started_at="yesterday")

    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"flow", "started_at"}
    unknown = start(api, target_system="sap")
    assert unknown.json()["errors"] == [{"field": "target_system", "message": "no system 'sap' in this workspace"}]


def test_finish_needs_a_final_status(api):
    run_id = start(api).json()["id"]
    response = api.post(f"/api/v1/sync-runs/{run_id}/finish/", {"status": "running"}, format="json")

    assert response.status_code == 400
    assert "must be one of succeeded, partial, failed, cancelled" in response.json()["errors"][0]["message"]


def test_runs_list_shows_only_this_systems_runs(api, northwind, contoso):
    start(api)
    listed = api.get("/api/v1/sync-runs/").json()

    assert listed["count"] == 2  # the fixture's run and the new one, both Northwind's Harvest
    foreign = SyncRun.objects.for_workspace(contoso.workspace).get()
    assert api.get(f"/api/v1/sync-runs/{foreign.pk}/").status_code == 404
    assert api.post(f"/api/v1/sync-runs/{foreign.pk}/finish/", {"status": "failed"}, format="json").status_code == 404
    assert SyncRun.objects.get(pk=foreign.pk).status == "running"
