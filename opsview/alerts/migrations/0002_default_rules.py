"""Workspaces that existed before alerts get the default rules a new workspace gets (alerts.defaults)."""

from django.db import migrations

from opsview.alerts.defaults import DEFAULT_RULES


def add_default_rules(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    Workspace = apps.get_model("workspaces", "Workspace")
    db = schema_editor.connection.alias
    has_rules = set(Rule.objects.using(db).values_list("workspace_id", flat=True))
    Rule.objects.using(db).bulk_create(
        Rule(workspace_id=workspace_id, kind=kind, name=name, roles=list(roles), **thresholds)
        for workspace_id in Workspace.objects.using(db).values_list("id", flat=True)
        if workspace_id not in has_rules
        for kind, name, thresholds, roles in DEFAULT_RULES
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"), ("workspaces", "0001_initial")]

    operations = [migrations.RunPython(add_default_rules, migrations.RunPython.noop)]
