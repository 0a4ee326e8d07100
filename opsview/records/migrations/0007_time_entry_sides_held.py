"""Each time entry keeps which sides hold its hours (``records.sides``), and the index of entries by status
and day carries it: the reconciled share of a year's period reads the index, not every entry's postings."""

from django.db import migrations, models


def store_sides(apps, schema_editor):
    # The app's own rule, through the app's models: it is defined once, in records.sides. An empty table (a new
    # database) has nothing to store and is not asked, so later changes to those models cannot break this step.
    TimeEntry = apps.get_model("records", "TimeEntry")
    if not TimeEntry.objects.exists():
        return
    from opsview.records import models as records
    from opsview.records.sides import refresh_sides_held

    for workspace_id in list(TimeEntry.objects.values_list("workspace_id", flat=True).distinct().order_by()):
        refresh_sides_held(records.TimeEntry.objects.filter(workspace_id=workspace_id))


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0006_time_entries_by_status_with_hours'),
        ('systems', '0002_apitoken_first_batch_at'),
        ('workspaces', '0008_partners_invitations'),
    ]

    operations = [
        migrations.AddField(
            model_name='timeentry',
            name='sides_held',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, help_text='Which target systems hold its hours, as records.sides computes them: 1 the ERP, 2 billing on an invoice, 3 both, 0 neither.'),
        ),
        migrations.RunPython(store_sides, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(
            model_name='timeentry',
            name='timeentry_by_status',
        ),
        migrations.AddIndex(
            model_name='timeentry',
            index=models.Index(fields=['workspace', 'status', 'work_date'], include=('hours', 'approved_at', 'billable', 'sides_held'), name='timeentry_by_status'),
        ),
    ]
