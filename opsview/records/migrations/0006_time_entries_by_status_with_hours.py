"""The time-entries-by-status index carries their hours and approval time: unapproved hours, as of now or a past
day, of one firm or every firm, read the index only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0005_postings'),
        ('systems', '0002_apitoken_first_batch_at'),
        ('workspaces', '0008_partners_invitations'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='timeentry',
            name='records_tim_workspa_3803a7_idx',
        ),
        migrations.AddIndex(
            model_name='timeentry',
            index=models.Index(fields=['workspace', 'status', 'work_date'], include=('hours', 'approved_at'), name='timeentry_by_status'),
        ),
    ]
