"""Failed sync events get a partial index of their own: one event in fifty, read by the manager view, the failed
events of a day and the queue's backfill."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('systems', '0002_apitoken_first_batch_at'),
        ('telemetry', '0004_events_by_time_with_outcome'),
        ('workspaces', '0008_partners_invitations'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='syncevent',
            index=models.Index(condition=models.Q(('outcome', 'failed')), fields=['workspace', 'occurred_at'], name='sync_event_failed_idx'),
        ),
    ]
