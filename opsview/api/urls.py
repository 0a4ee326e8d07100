"""The /api/v1/ root: every app's endpoints for integration jobs, and the API's own 404 for any other path."""

from django.urls import include, path, re_path

from opsview.api.errors import unknown_endpoint
from opsview.ingest import api as ingest
from opsview.queues.api import MappingListView

urlpatterns = [
    path("kpis/", include("opsview.kpis.api")),
    path("whoami/", ingest.WhoAmIView.as_view(), name="api-whoami"),
    path("sync-runs/", ingest.SyncRunListView.as_view(), name="api-sync-runs"),
    path("sync-runs/<int:pk>/", ingest.SyncRunDetailView.as_view(), name="api-sync-run"),
    path("sync-runs/<int:pk>/finish/", ingest.SyncRunFinishView.as_view(), name="api-sync-run-finish"),
    path("sync-events/", ingest.SyncEventBatchView.as_view(), name="api-sync-events"),
    path("mappings/", MappingListView.as_view(), name="api-mappings"),
] + [path(f"states/{kind}/", view, name=f"api-states-{kind}") for kind, view in ingest.STATE_VIEWS.items()]
# Last: an id that is not a number, a typo in a path: the API's 404, never the HTML page.
urlpatterns.append(re_path(r"", unknown_endpoint))
