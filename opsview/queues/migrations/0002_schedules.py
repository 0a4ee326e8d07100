"""The queues' django-q2 schedules: state rules every 15 minutes, snoozes every 5."""

from django.db import migrations

SCHEDULES = [
    ("queues: business-state exceptions", "opsview.queues.tasks.scan_business_states", 15),
    ("queues: wake snoozed exceptions", "opsview.queues.tasks.wake_snoozed", 5),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def remove(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("queues", "0001_initial"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(create, remove)]
