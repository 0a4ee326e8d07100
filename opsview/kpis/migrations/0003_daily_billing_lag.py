"""Billing lag joins the daily roll-up.

Days rolled up before this migration hold no billing lag, and a day marked done
is never computed live again, so the marks are dropped: the hourly roll-up
computes those days anew (and pages compute them live meanwhile).
"""

import django.db.models.deletion
from django.db import migrations, models


def forget_rolled_up_days(apps, schema_editor):
    apps.get_model("kpis", "RollupDay").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0002_rollup_schedule'),
        ('records', '0002_timeentry_dashboard_indexes'),
        ('workspaces', '0003_workspace_branding'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyBillingLag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(help_text="The invoices' issue date.")),
                ('lag_days', models.IntegerField(help_text='Issue date − work date; negative for time worked after the invoice.')),
                ('entries', models.PositiveIntegerField()),
                ('hours', models.DecimalField(decimal_places=2, max_digits=14)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='records.project')),
                ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.system')),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
            ],
            options={
                'ordering': ['-day'],
                'indexes': [models.Index(fields=['workspace', 'day'], name='kpis_dailyb_workspa_dec36e_idx')],
            },
        ),
        migrations.RunPython(forget_rolled_up_days, migrations.RunPython.noop),
    ]
