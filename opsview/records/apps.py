from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "opsview.records"
    label = "records"
    verbose_name = "Business records"

    def ready(self):
        from opsview.records import signals

        signals.connect()
