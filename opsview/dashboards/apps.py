from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "opsview.dashboards"

    def ready(self):
        # The charts register their builders on the KPI catalog's entries when their module loads.
        from opsview.dashboards import charts  # noqa: F401
