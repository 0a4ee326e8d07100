"""Writing many exception rows at once from ingest, cheaper than Django's bulk helpers.

``update_each``: one UPDATE for many rows, each with its own values (500 exceptions each get their own
"last seen" time). Django's ``bulk_update`` builds a CASE per field per row, which costs milliseconds per
row in Python; this sends the rows as a VALUES list instead (PostgreSQL and SQLite). ``insert_new``: new
exceptions with COPY on PostgreSQL.
"""

from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter

import orjson
from django.db import IntegrityError, connection, transaction

_PG_TYPES = {
    "bigint": "bigint",
    "integer": "integer",
    "datetime": "timestamptz",
    "text": "text",
    "numeric": "numeric",
    "date": "date",
}
CHUNK = 1000


def update_each(model, columns, rows, assignments, set_params=(), condition=""):
    """Run ``UPDATE <table> SET <assignments> FROM v WHERE <table>.id = v.id <condition>`` for ``rows``.

    ``rows`` are tuples ``(id, *values)``; ``columns`` names and types the values, e.g.
    ``[("seen", "datetime")]``; ``assignments`` is SQL in which ``v.seen`` is the row's value and
    ``set_params`` fills its ``%s``. Returns the number of rows updated.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    names = ["id", *(name for name, _ in columns)]
    kinds = ["bigint", *(kind for _, kind in columns)]
    postgres = connection.vendor == "postgresql"
    one_row = "(" + ", ".join(f"%s::{_PG_TYPES[k]}" if postgres else "%s" for k in kinds) + ")"
    updated = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = [_adapt(value, kind) for row in chunk for value, kind in zip(row, kinds, strict=True)]
        sql = (
            f"WITH v({', '.join(names)}) AS (VALUES {', '.join([one_row] * len(chunk))}) "
            f"UPDATE {table} SET {assignments} FROM v WHERE {table}.id = v.id {condition}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *set_params])
            updated += cursor.rowcount
    return updated


def _adapt(value, kind):
    if kind == "datetime" and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


# Columns a new exception is written with; every other column of queues_exceptionitem is NULL.
_NEW_COLUMNS = (
    ("workspace_id", "bigint"),
    ("key", "text"),
    ("group_id", "bigint"),
    ("kind", "text"),
    ("system_id", "bigint"),
    ("source_system_id", "bigint"),
    ("record_type", "text"),
    ("external_id", "text"),
    ("title", "text"),
    ("search_text", "text"),
    ("status", "text"),
    ("error_code", "text"),
    ("error_message", "text"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("record_date", "date"),
    ("first_seen_at", "timestamptz"),
    ("last_seen_at", "timestamptz"),
    ("sla_due_at", "timestamptz"),
    ("occurrences", "integer"),
    ("recurrences", "integer"),
    ("resolution", "text"),
    ("resolution_note", "text"),
    ("last_event_id", "bigint"),
    ("time_entry_id", "bigint"),
    ("invoice_id", "bigint"),
    ("project_id", "bigint"),
    ("client_id", "bigint"),
)


def insert_new(model, items):
    """Insert new exceptions, skipping keys another writer inserted first. ``items`` are model instances
    or any objects with the attributes ``_NEW_COLUMNS`` names.

    On PostgreSQL the rows are written with COPY in its binary format, as ingest writes sync events: Django's
    ``bulk_create`` spends milliseconds preparing 31 values a row, and an INSERT from one JSON document
    (``jsonb_to_recordset``) cost the database about a third more than COPY (its parsing of every value).
    COPY cannot skip a row: when another writer (the state rules, a scan) inserted one of the keys first, the
    unique index refuses the COPY and the rows are written again by an INSERT that skips those keys.
    """
    if not items:
        return
    names = [name for name, _ in _NEW_COLUMNS]
    if connection.vendor != "postgresql":
        instances = [
            item if isinstance(item, model) else model(**{n: getattr(item, n) for n in names}) for item in items
        ]
        model.objects.bulk_create(instances, ignore_conflicts=True, batch_size=500)
        return
    values_of = attrgetter(*names)
    rows = [values_of(item) for item in items]
    table = connection.ops.quote_name(model._meta.db_table)
    try:
        # COPY goes through psycopg's own cursor, whose errors Django does not wrap unless asked to.
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            _copy(cursor.cursor, table, names, rows)
    except IntegrityError:  # another writer inserted one of these keys first: skip those
        _insert_skipping(table, names, rows)


def _copy(cursor, table, names, rows):
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([kind for _, kind in _NEW_COLUMNS])
        for row in rows:
            copy.write_row(row)


def _insert_skipping(table, names, rows):
    rows = [dict(zip(names, row, strict=True)) for row in rows]
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({', '.join(f'{n} {t}' for n, t in _NEW_COLUMNS)}) "
        "ON CONFLICT (workspace_id, key) DO NOTHING"
    )
    with connection.cursor() as cursor:
        # orjson writes the strings and numbers in C and hands the rest to _json_value.
        cursor.execute(sql, [orjson.dumps(rows, default=_json_value, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()])


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()  # orjson would drop the seconds of an offset
    raise TypeError(f"{type(value).__name__} is not a column value")
