"""Once created the KPI roll-up's schedule; opsview/common/schedules.py installs it now."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
