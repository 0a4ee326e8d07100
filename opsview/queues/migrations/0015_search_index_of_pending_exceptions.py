"""The queue search's trigram index holds the exceptions still waiting for someone (open or snoozed) only.

Resolving a group of 5,000 exceptions at a year's scale spent about half of its one UPDATE adding each row's
trigrams to the index again (an updated row is a new row to every index of a column the update changes);
a resolved exception now leaves the index instead. Searches among the open and snoozed exceptions, the queue's
default and nearly every search, use it as before; a search among resolved or ignored ones reads the firm's
exceptions of that status through the status index and checks each.
"""

from django.db import migrations

INDEX = "queue_searchable_trgm_idx"
CREATE = f"CREATE INDEX {INDEX} ON queues_exceptionitem USING gin (workspace_id, searchable gin_trgm_ops)"


def index_pending_only(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"{CREATE} WHERE status IN ('open', 'snoozed')")


def index_every_status(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(CREATE)


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0014_firms_money_at_stake_changes"),
    ]

    operations = [migrations.RunPython(index_pending_only, index_every_status)]
