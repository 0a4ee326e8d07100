"""Operations basics: the health check and the API's own documentation."""

import os
import re
import subprocess
import sys
import time
from types import SimpleNamespace

from django.contrib.staticfiles import finders
from django_q.conf import Conf

from opsview.health import cluster_state


def test_healthz_reports_database_and_task_cluster(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["database"]["state"] == "ok"
    assert body["task_cluster"]["state"] in {"running", "starting", "not running"}


def cluster(status, workers):
    """A heartbeat as django-q2's Stat carries it: the sentinel's status and its workers' pids."""
    return SimpleNamespace(status=status, workers=list(range(workers)))


def test_a_cluster_without_live_workers_is_starting_not_running():
    assert cluster_state([]) == {"state": "not running", "clusters": 0}
    assert cluster_state([cluster(Conf.STARTING, 0)])["state"] == "starting"
    assert cluster_state([cluster(Conf.IDLE, 0)])["state"] == "starting"
    assert cluster_state([cluster(Conf.STOPPING, 2)])["state"] == "stopping"
    running = cluster_state([cluster(Conf.STARTING, 0), cluster(Conf.IDLE, 2)])
    assert (running["state"], running["workers"], running["clusters"]) == ("running", 2, 2)


def test_healthz_sees_a_running_task_cluster(client, db, settings, tmp_path, migrated_sqlite):
    """Starts a real django-q2 cluster and waits for its heartbeat to show in /healthz."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    env = os.environ | {"OPSVIEW_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}"}
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    migrated_sqlite(tmp_path / "q.sqlite3", env)
    cluster = subprocess.Popen([*manage, "qcluster"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90  # a loaded CI machine starts the cluster slowly
        state, seen = None, set()
        while time.monotonic() < deadline:
            state = client.get("/healthz").json()["task_cluster"]
            seen.add(state["state"])
            if state["state"] == "running":
                break
            time.sleep(0.5)
        assert state["state"] == "running", state
        # "running" means a worker can take a task; before that the cluster is "starting".
        assert state["workers"] >= 1
        assert seen <= {"not running", "starting", "running"}
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)


def test_openapi_schema_documents_every_ingest_endpoint(client, db):
    schema = client.get("/api/schema/?format=json").json()

    for path in (
        "/api/v1/sync-runs/",
        "/api/v1/sync-runs/{id}/finish/",
        "/api/v1/sync-events/",
        "/api/v1/states/time-entries/",
        "/api/v1/states/invoices/",
    ):
        assert path in schema["paths"], path
    event = schema["components"]["schemas"]["SyncEventRequest"]
    assert {"event_id", "outcome", "occurred_at", "external_id"} <= set(event["required"])
    outcome = event["properties"]["outcome"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][outcome]["enum"] == ["succeeded", "failed", "skipped"]
    assert "integrationToken" in schema["components"]["securitySchemes"]


def test_api_docs_load_their_assets_from_our_own_static_files(client, db):
    page = client.get("/api/docs/").content.decode()

    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls, "the docs page references no assets"
    for url in urls:
        assert url.startswith(("/static/", "/api/")), f"external asset: {url}"
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"missing static file {url}"
