"""Indexes the dashboards' KPIs read time entries by at scale (measured by bench/dashboards.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("workspaces", "0003_workspace_branding"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="timeentry",
            index=models.Index(
                fields=["workspace", "work_date"], include=("status", "billable", "hours"), name="timeentry_worked_on"
            ),
        ),
        migrations.AddIndex(
            model_name="timeentry",
            index=models.Index(fields=["workspace", "invoice_reference"], name="timeentry_invoice_reference"),
        ),
    ]
