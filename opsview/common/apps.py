from django.apps import AppConfig
from django.apps import apps as registry
from django.db.models.signals import post_migrate


class CommonConfig(AppConfig):
    name = "opsview.common"
    label = "common"
    verbose_name = "Common"

    def ready(self):
        from django_q.signals import post_spawn

        from opsview.common.schedules import install_after_migrate

        # Sent once per migrate for django-q2's app, after every migration has run.
        post_migrate.connect(
            install_after_migrate, sender=registry.get_app_config("django_q"), dispatch_uid="opsview-schedules"
        )
        # A task worker lives as long as a web worker and drains the detection outbox batch by batch.
        post_spawn.connect(_freeze_task_worker, dispatch_uid="opsview-freeze-task-worker")


def _freeze_task_worker(sender, proc_name, **kwargs):
    from opsview.common.longlived import freeze_what_is_loaded

    freeze_what_is_loaded()
