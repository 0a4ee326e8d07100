"""One UPDATE for many rows, each with its own values: what ingest needs when 500 exceptions each get
their own "last seen" time. Django's ``bulk_update`` builds a CASE per field per row, which costs
milliseconds per row in Python; this sends the rows as a VALUES list instead (PostgreSQL and SQLite).
"""

from django.db import connection

_PG_TYPES = {"bigint": "bigint", "integer": "integer", "datetime": "timestamptz", "text": "text"}
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
