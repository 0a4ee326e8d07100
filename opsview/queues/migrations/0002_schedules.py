"""Once created the queues' django-q2 schedules; opsview/common/schedules.py installs every fixed schedule now."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
