from django.urls import path

from opsview.api.kpi_views import KpiIndexView, kpi_view
from opsview.kpis.catalog import CATALOG

urlpatterns = [path("", KpiIndexView.as_view(), name="api-kpis")] + [
    path(f"{kpi.slug}/", kpi_view(kpi), name=f"api-kpi-{kpi.slug}") for kpi in CATALOG
]
