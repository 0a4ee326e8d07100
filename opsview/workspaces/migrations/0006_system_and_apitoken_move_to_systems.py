"""System and ApiToken now belong to the systems app (systems 0001); remove them from this app's
state only. The tables and their rows stay as they are.

It runs after every app that points at a system points at systems.System, so no reference is left
dangling in the state.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0004_systems_from_the_systems_app'),
        ('pulls', '0002_systems_from_the_systems_app'),
        ('queues', '0007_systems_from_the_systems_app'),
        ('records', '0004_systems_from_the_systems_app'),
        ('replay', '0005_systems_from_the_systems_app'),
        ('telemetry', '0003_systems_from_the_systems_app'),
        ('workspaces', '0005_workspace_event_retention_days'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='system',
                    name='workspace',
                ),
                migrations.DeleteModel(
                    name='ApiToken',
                ),
                migrations.DeleteModel(
                    name='System',
                ),
            ],
            database_operations=[],
        ),
    ]
