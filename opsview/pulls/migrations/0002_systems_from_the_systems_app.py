"""References to a system now name systems.System, in Django's state only: the table they point
at (workspaces_system) and their columns do not change, so there is nothing to do in the database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pulls', '0001_initial'),
        ('systems', '0001_system_and_apitoken_from_workspaces'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='pullcursor',
                    name='system',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='systems.system'),
                ),
            ],
            database_operations=[],
        ),
    ]
