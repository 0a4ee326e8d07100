from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "opsview.telemetry"
    label = "telemetry"
    verbose_name = "Sync telemetry"
