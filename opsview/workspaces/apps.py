from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "opsview.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces"
