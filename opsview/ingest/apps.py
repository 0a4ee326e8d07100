from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "opsview.ingest"
    label = "ingest"
    verbose_name = "Ingest"
