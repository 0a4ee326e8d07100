"""Sync events lose their indexes by source and by target system: every query naming a system names the
workspace and a record or a period too, and each inserted event paid for two more index entries."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('systems', '0002_apitoken_first_batch_at'),
        ('telemetry', '0005_failed_events_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='syncevent',
            name='source_system',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
        ),
        migrations.AlterField(
            model_name='syncevent',
            name='target_system',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
        ),
    ]
