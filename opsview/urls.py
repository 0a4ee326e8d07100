from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from opsview import health
from opsview.api.errors import unknown_endpoint
from opsview.queues.policies import masked_fields_for

# The API for integration jobs, people's tools and KPI readers: each app's endpoints (its api.py), then the
# API's own 404 for any other path (an id that is not a number, a typo), never the HTML page.
api_v1 = [
    path("kpis/", include("opsview.kpis.api")),
    path("", include("opsview.ingest.api")),
    path("", include("opsview.queues.api")),
    # The operations API, for people and their tools (a personal token): the queues, one exception, replays.
    path("", include("opsview.queues.ops_api")),
    path("", include("opsview.replay.api")),
    re_path(r"", unknown_endpoint),
]

urlpatterns = [
    path("", include("opsview.front.urls")),
    path("queues/", include("opsview.queues.urls")),
    path("replays/", include("opsview.replay.urls")),
    path("reconciliation/", include("opsview.reconcile.urls")),
    # The audit page masks what the queue settings mask; the audit app sits below the queues, so it is told how.
    path("audit/", include("opsview.audit.urls"), {"masked_fields_for": masked_fields_for}),
    path("", include("opsview.dashboards.urls")),
    path("", include("opsview.workspaces.urls")),
    path("settings/", include("opsview.systems.urls")),
    path("settings/systems/", include("opsview.pulls.urls")),
    path("settings/alerts/", include("opsview.notify.urls")),
    path("", include("opsview.alerts.urls")),
    path("", include("opsview.firms.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("opsview.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
