from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from opsview import health
from opsview.front import views as front
from opsview.queues.policies import masked_fields_for
from opsview.workspaces import branding, theme
from opsview.workspaces import views as workspaces

urlpatterns = [
    path("", front.home, name="home"),
    path("runs/", front.sync_runs, name="sync-runs"),
    path("runs/<int:pk>/", front.sync_run, name="sync-run"),
    path("queues/", include("opsview.queues.urls")),
    path("replays/", include("opsview.replay.urls")),
    # The audit page masks what the queue settings mask; the audit app sits below the queues, so it is told how.
    path("audit/", include("opsview.audit.urls"), {"masked_fields_for": masked_fields_for}),
    path("", include("opsview.dashboards.urls")),
    path("workspace/switch/", workspaces.switch_workspace, name="switch-workspace"),
    path("settings/systems/", workspaces.systems, name="systems"),
    path("settings/systems/<int:pk>/", workspaces.systems, name="system-edit"),
    path("settings/systems/<int:pk>/test/", workspaces.test_connection, name="system-test"),
    path("settings/systems/", include("opsview.pulls.urls")),
    path("settings/tokens/", workspaces.tokens, name="tokens"),
    path("settings/branding/", branding.branding, name="branding"),
    path("workspace/<int:pk>/logo", branding.logo, name="workspace-logo"),
    path("workspace/theme.css", theme.workspace_theme, name="workspace-theme"),
    path("settings/tokens/<int:pk>/revoke/", workspaces.revoke_token, name="revoke-token"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("opsview.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/kpis/", include("opsview.api.kpi_urls")),
    path("api/v1/", include("opsview.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
