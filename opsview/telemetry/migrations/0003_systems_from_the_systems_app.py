"""References to a system now name systems.System, in Django's state only: the table they point
at (workspaces_system) and their columns do not change, so there is nothing to do in the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('systems', '0001_system_and_apitoken_from_workspaces'),
        ('telemetry', '0002_sync_event_references_checked_by_ingest'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='syncevent',
                    name='source_system',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
                migrations.AlterField(
                    model_name='syncevent',
                    name='target_system',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
                migrations.AlterField(
                    model_name='syncrun',
                    name='reported_by',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
                migrations.AlterField(
                    model_name='syncrun',
                    name='source_system',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
                migrations.AlterField(
                    model_name='syncrun',
                    name='target_system',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
            ],
            database_operations=[],
        ),
    ]
