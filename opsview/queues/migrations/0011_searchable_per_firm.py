"""The queue search reads one column, a record's business ids and its error, and on PostgreSQL one trigram index
keyed by firm: a firm's search is an index lookup in that firm's exceptions, not every firm's matches fetched
and checked one by one (a firm's search for its commonest error rechecked 100,000 other firms' exceptions).

The two trigram indexes of migration 0005 and the error text column only the search read go.
SQLite has no trigram index; its search stays a plain LIKE scan.
"""

import django.db.models.functions.text
from django.db import migrations, models

OLD_INDEXES = (
    ("queue_search_trgm_idx", "search_text"),
    ("queue_error_trgm_idx", "error_text"),
)


def create_firm_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # btree_gin lets the firm's id be a key of the trigram index, so the firm is part of the lookup.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS queue_searchable_trgm_idx ON queues_exceptionitem "
        "USING gin (workspace_id, searchable gin_trgm_ops)"
    )
    for name, _ in OLD_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The new column has no statistics until autovacuum comes by; the planner should not guess meanwhile.
    schema_editor.execute("ANALYZE queues_exceptionitem (searchable)")


def restore_old_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in OLD_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON queues_exceptionitem USING gin ({column} gin_trgm_ops)"
        )
    schema_editor.execute("DROP INDEX IF EXISTS queue_searchable_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0010_period_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptionitem",
            name="searchable",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        "search_text",
                        models.Value("\n"),
                        "error_code",
                        models.Value(" "),
                        "error_message",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create_firm_search_index, restore_old_indexes),
        migrations.RemoveField(
            model_name="exceptionitem",
            name="error_text",
        ),
    ]
