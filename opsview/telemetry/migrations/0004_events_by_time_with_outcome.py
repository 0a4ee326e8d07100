"""The events-by-time index carries each event's outcome: a day of every firm's success rates reads the index only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('systems', '0002_apitoken_first_batch_at'),
        ('telemetry', '0003_systems_from_the_systems_app'),
        ('workspaces', '0008_partners_invitations'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='syncevent',
            name='telemetry_s_workspa_2ef4a9_idx',
        ),
        migrations.AddIndex(
            model_name='syncevent',
            index=models.Index(fields=['workspace', 'occurred_at'], include=('outcome',), name='sync_event_time_idx'),
        ),
    ]
