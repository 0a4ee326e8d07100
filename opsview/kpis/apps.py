from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "opsview.kpis"
    verbose_name = "KPIs"
