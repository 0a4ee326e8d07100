from django.apps import AppConfig
from django.db.models.signals import post_delete


class QueuesConfig(AppConfig):
    name = "opsview.queues"
    verbose_name = "Exception work queues"

    def ready(self):
        from opsview.systems.models import System

        post_delete.connect(_system_deleted, sender=System, dispatch_uid="queues.system_deleted")


def _system_deleted(sender, instance, **kwargs):
    # Its exceptions went with it, past the writers that keep the money at stake per record.
    from opsview.queues.stakes import rebuild_stakes

    rebuild_stakes(instance.workspace_id)
