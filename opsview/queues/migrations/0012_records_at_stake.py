"""Money at stake kept per record (``queues.stakes``), for the portfolio: filled from the open exceptions."""

import django.db.models.deletion
from django.db import migrations, models


def keep_stakes(apps, schema_editor):
    # Through the app's own rule (queues.money.per_record), defined once. A database without open exceptions has
    # nothing to keep and is not asked, so later changes to those models cannot break this step.
    ExceptionItem = apps.get_model("queues", "ExceptionItem")
    open_items = ExceptionItem.objects.filter(status="open")
    if not open_items.exists():
        return
    from opsview.queues.stakes import rebuild_records_at_stake

    for workspace_id in list(open_items.values_list("workspace_id", flat=True).distinct().order_by()):
        rebuild_records_at_stake(workspace_id)


class Migration(migrations.Migration):

    dependencies = [
        ('queues', '0011_searchable_per_firm'),
        ('systems', '0002_apitoken_first_batch_at'),
        ('workspaces', '0008_partners_invitations'),
    ]

    operations = [
        migrations.CreateModel(
            name='RecordAtStake',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('record_type', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=128)),
                ('amount', models.DecimalField(decimal_places=2, help_text="The largest of its open exceptions'.", max_digits=14)),
                ('currency', models.CharField(blank=True, max_length=3)),
                ('exceptions', models.PositiveIntegerField(help_text='Its open exceptions.')),
                ('source_system', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system')),
                ('workspace', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'indexes': [models.Index(fields=['workspace', 'currency'], include=('amount', 'exceptions'), name='stakes_idx')],
                'constraints': [models.UniqueConstraint(fields=('workspace', 'source_system', 'record_type', 'external_id'), name='stake_per_record')],
            },
        ),
        migrations.RunPython(keep_stakes, migrations.RunPython.noop, elidable=True),
    ]
