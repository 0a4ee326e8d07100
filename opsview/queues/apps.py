from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "opsview.queues"
    verbose_name = "Exception work queues"
