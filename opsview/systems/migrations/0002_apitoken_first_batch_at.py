from django.db import migrations, models
from django.db.models import F


def from_last_use(apps, schema_editor):
    # Tokens used before this was recorded: their last use is the best known sign that data arrived.
    ApiToken = apps.get_model("systems", "ApiToken")
    ApiToken.objects.filter(last_used_at__isnull=False).update(first_batch_at=F("last_used_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("systems", "0001_system_and_apitoken_from_workspaces"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="first_batch_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(from_last_use, migrations.RunPython.noop),
    ]
