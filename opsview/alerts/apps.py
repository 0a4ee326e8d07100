from django.apps import AppConfig
from django.db.models.signals import post_save


class AlertsConfig(AppConfig):
    name = "opsview.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from opsview.alerts.defaults import on_workspace_saved
        from opsview.workspaces.models import Workspace

        post_save.connect(on_workspace_saved, sender=Workspace, dispatch_uid="opsview-alert-default-rules")
