"""Titles and search text for exceptions, and on PostgreSQL the trigram indexes the queue search uses;
an index that hands money at stake each record's exceptions together.

SQLite has no trigram index; its search is a plain LIKE scan, fine at the sizes SQLite serves.
"""

import django.db.models.functions.text
from django.db import migrations, models


TRIGRAM_INDEXES = (
    ("queue_search_trgm_idx", "search_text"),
    ("queue_error_trgm_idx", "error_text"),
)


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON queues_exceptionitem USING gin ({column} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def describe_existing(apps, schema_editor):
    """Name the exceptions stored before titles existed, from the records they are linked to."""
    from opsview.queues.tracking import describe

    ExceptionItem = apps.get_model("queues", "ExceptionItem")
    fields = (
        "id",
        "record_type",
        "external_id",
        "amount",
        "invoice__number",
        "invoice__client__name",
        "time_entry__person__name",
        "time_entry__work_date",
        "project__code",
        "project__name",
        "client__name",
    )
    batch = []
    for row in ExceptionItem.objects.values(*fields).iterator(chunk_size=2000):
        facts = {
            "number": row["invoice__number"],
            "person": row["time_entry__person__name"],
            "day": row["time_entry__work_date"],
            "project_code": row["project__code"],
            "project_name": row["project__name"],
            "client": row["client__name"] or row["invoice__client__name"],
        }
        title, search_text = describe(row["record_type"], row["external_id"], facts, row["amount"])
        batch.append(ExceptionItem(id=row["id"], title=title, search_text=search_text))
        if len(batch) == 2000:
            ExceptionItem.objects.bulk_update(batch, ["title", "search_text"])
            batch = []
    ExceptionItem.objects.bulk_update(batch, ["title", "search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0004_amounts_within_bounds"),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptionitem",
            name="error_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        "error_code", models.Value(" "), "error_message", output_field=models.TextField()
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="exceptionitem",
            name="search_text",
            field=models.TextField(
                blank=True,
                help_text="Lower-case business ids of the record (number, project, client, person, amount) the queue search finds it by; see tracking.describe.",
            ),
        ),
        migrations.AddField(
            model_name="exceptionitem",
            name="title",
            field=models.CharField(
                blank=True,
                help_text="The record in business words: invoice number, person, day, project.",
                max_length=200,
            ),
        ),
        migrations.AddIndex(
            model_name="exceptionitem",
            index=models.Index(
                fields=["workspace", "status", "source_system", "record_type", "external_id"],
                include=("amount", "currency"),
                name="queue_record_money_idx",
            ),
        ),
        migrations.RunPython(describe_existing, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
