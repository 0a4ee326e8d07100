from django.apps import AppConfig


class PullsConfig(AppConfig):
    name = "opsview.pulls"
    label = "pulls"
    verbose_name = "Scheduled pulls"
