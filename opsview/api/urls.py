from django.urls import include, path, re_path

from opsview.api import ingest_views as views
from opsview.api.errors import unknown_endpoint
from opsview.queues.api import MappingListView

urlpatterns = [
    path("kpis/", include("opsview.kpis.api")),
    path("whoami/", views.WhoAmIView.as_view(), name="api-whoami"),
    path("sync-runs/", views.SyncRunListView.as_view(), name="api-sync-runs"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="api-sync-run"),
    path("sync-runs/<int:pk>/finish/", views.SyncRunFinishView.as_view(), name="api-sync-run-finish"),
    path("sync-events/", views.SyncEventBatchView.as_view(), name="api-sync-events"),
    path("mappings/", MappingListView.as_view(), name="api-mappings"),
] + [path(f"states/{kind}/", view, name=f"api-states-{kind}") for kind, view in views.STATE_VIEWS.items()]
# Last: an id that is not a number, a typo in a path: the API's 404, never the HTML page.
urlpatterns.append(re_path(r"", unknown_endpoint))
