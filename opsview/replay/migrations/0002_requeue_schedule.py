"""Once created the schedule that takes back lost workers' replays; opsview/common/schedules.py installs it now."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("replay", "0001_initial"), ("queues", "0002_schedules")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
