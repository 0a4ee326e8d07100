"""Fewer index entries per new exception: the firm's and the group's own indexes go (the indexes that lead with
them find the same rows), and the references empty on most exceptions are indexed only where they are set."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('queues', '0012_records_at_stake'),
        ('records', '0007_time_entry_sides_held'),
        ('systems', '0002_apitoken_first_batch_at'),
        ('telemetry', '0006_sync_event_systems_without_own_index'),
        ('workspaces', '0008_partners_invitations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='exceptionitem',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='client',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='records.client'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='group',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='items', to='queues.exceptiongroup'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='invoice',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='records.invoice'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='last_event',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='telemetry.syncevent'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='project',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='records.project'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='resolved_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='time_entry',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='records.timeentry'),
        ),
        migrations.AlterField(
            model_name='exceptionitem',
            name='workspace',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('assignee__isnull', False)), fields=['assignee'], name='queue_assignee_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('resolved_by__isnull', False)), fields=['resolved_by'], name='queue_resolved_by_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('last_event__isnull', False)), fields=['last_event'], name='queue_last_event_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('time_entry__isnull', False)), fields=['time_entry'], name='queue_time_entry_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('invoice__isnull', False)), fields=['invoice'], name='queue_invoice_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('project__isnull', False)), fields=['project'], name='queue_project_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('client__isnull', False)), fields=['client'], name='queue_client_idx'),
        ),
    ]
