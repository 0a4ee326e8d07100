"""Exception volume and resolution time read a period's exceptions from an index by first-seen and one by resolved
time, not every exception the firm ever had."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('queues', '0009_detection_outbox'),
        ('records', '0006_time_entries_by_status_with_hours'),
        ('systems', '0002_apitoken_first_batch_at'),
        ('telemetry', '0005_failed_events_index'),
        ('workspaces', '0008_partners_invitations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(fields=['workspace', 'first_seen_at'], include=('resolved_at',), name='queue_seen_idx'),
        ),
        migrations.AddIndex(
            model_name='exceptionitem',
            index=models.Index(condition=models.Q(('resolved_at__isnull', False)), fields=['workspace', 'resolved_at'], include=('first_seen_at',), name='queue_resolved_idx'),
        ),
    ]
