from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "opsview.notify"
    label = "notify"
    verbose_name = "Notifications"
