from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from opsview import health
from opsview.audit import views as audit
from opsview.front import views as front

urlpatterns = [
    path("", front.home, name="home"),
    path("runs/", front.sync_runs, name="sync-runs"),
    path("runs/<int:pk>/", front.sync_run, name="sync-run"),
    path("queues/", include("opsview.queues.urls")),
    path("replays/", include("opsview.replay.urls")),
    path("audit/", audit.entries, name="audit"),
    path("", include("opsview.dashboards.urls")),
    path("", include("opsview.workspaces.urls")),
    path("settings/", include("opsview.systems.urls")),
    path("settings/systems/", include("opsview.pulls.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("opsview.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/kpis/", include("opsview.api.kpi_urls")),
    path("api/v1/", include("opsview.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
