from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "opsview.alerts"
    label = "alerts"
    verbose_name = "Alerts"
