from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from opsview import health
from opsview.queues.policies import masked_fields_for

urlpatterns = [
    path("", include("opsview.front.urls")),
    path("queues/", include("opsview.queues.urls")),
    path("replays/", include("opsview.replay.urls")),
    # The audit page masks what the queue settings mask; the audit app sits below the queues, so it is told how.
    path("audit/", include("opsview.audit.urls"), {"masked_fields_for": masked_fields_for}),
    path("", include("opsview.dashboards.urls")),
    path("", include("opsview.workspaces.urls")),
    path("settings/", include("opsview.systems.urls")),
    path("settings/systems/", include("opsview.pulls.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("opsview.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include("opsview.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
