"""Replays left running by a worker that died are taken back every five minutes."""

from django.db import migrations

NAME = "replay: take back replays of lost workers"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "opsview.replay.tasks.requeue_stale", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("replay", "0001_initial"), ("queues", "0002_schedules")]
    operations = [migrations.RunPython(create, remove)]
