"""System and ApiToken move here from workspaces, in Django's state only.

Their tables keep their names (workspaces_system, workspaces_apitoken) and their rows: nothing in the
database changes. workspaces 0006 then removes them from the workspaces app's state.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('workspaces', '0005_workspace_event_retention_days'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='System',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(help_text="Short name integration jobs use, e.g. 'harvest'.", max_length=60)),
                        ('name', models.CharField(max_length=120)),
                        ('kind', models.CharField(choices=[('time_tracking', 'Time tracking'), ('billing', 'Billing'), ('erp', 'ERP'), ('psa', 'PSA'), ('other', 'Other')], max_length=20)),
                        ('vendor', models.CharField(blank=True, help_text='harvest, clockify, xero, tryton, webhook…', max_length=40)),
                        ('is_active', models.BooleanField(default=True)),
                        ('connector_settings', models.JSONField(blank=True, default=dict, help_text='Non-secret connector settings, e.g. base URL, database, poll schedule.')),
                        ('credentials_encrypted', models.TextField(blank=True, editable=False)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('connection_status', models.CharField(choices=[('untested', 'Not tested yet'), ('ok', 'Connected'), ('failing', 'Failing')], default='untested', editable=False, max_length=10)),
                        ('connection_detail', models.TextField(blank=True, editable=False, help_text="In the vendor's words, never secrets.")),
                        ('connection_checked_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
                    ],
                    options={
                        'db_table': 'workspaces_system',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text="What uses this token, e.g. 'nightly Harvest sync'.", max_length=120)),
                        ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('hint', models.CharField(editable=False, help_text='First characters, to tell tokens apart.', max_length=12)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                        ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace')),
                        ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to='systems.system')),
                    ],
                    options={
                        'db_table': 'workspaces_apitoken',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='system',
                    constraint=models.UniqueConstraint(fields=('workspace', 'slug'), name='system_slug_per_workspace'),
                ),
            ],
            database_operations=[],
        ),
    ]
