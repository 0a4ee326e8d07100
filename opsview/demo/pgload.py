"""Loading millions of rows into empty PostgreSQL tables the way PostgreSQL's manual advises.

Django's foreign keys are checked at commit, one lookup per row and key: for
5 million sync events that alone took longer than writing them. Into empty
tables, dropping the foreign keys and secondary indexes first and adding them
back afterwards checks and builds each in one pass instead. A unique index fed
random keys (an event's uuid) costs more per row than the row itself, so unique
constraints go too, except on the tables the load looks rows up in while it
runs; adding them back checks every row once. The emptied tables are truncated
in the load's own transaction, which lets COPY write their rows frozen and
visible to all (``COPY ... FREEZE``): no later VACUUM rewrites 50 million rows
to mark them so. Everything happens inside the caller's transaction, so a
failed load leaves the schema as it was.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection

INDEX_MEMORY = "512MB"


@dataclass
class Load:
    """What ``bulk_load`` did: the tables a COPY in this transaction may write frozen."""

    fresh: set = field(default_factory=set)


@contextmanager
def bulk_load(models, lookups=(), progress=None):
    """Drop the constraints and indexes of ``models`` but their primary keys while loading them, if they are empty.

    ``lookups`` are models among them the load reads rows of by their unique keys: those keep their unique
    indexes. Yields a ``Load``; ``progress`` is told how long the indexes took to build again. Anywhere else
    (SQLite, or tables that already hold rows) it does nothing.
    """
    if connection.vendor != "postgresql" or not models or any(model.objects.exists() for model in models):
        yield Load()
        return
    quote = connection.ops.quote_name
    tables = [model._meta.db_table for model in models]
    keep_unique = {model._meta.db_table for model in lookups}
    saved, referencing = [], []
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while checks deferred by earlier statements are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # Other tables' foreign keys to these would refuse the TRUNCATE that lets COPY freeze the rows.
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = ANY(%s::regclass[]) AND NOT conrelid = ANY(%s::regclass[]) "
            "ORDER BY 1, 2",
            [tables, tables],
        )
        referencing = cursor.fetchall()
        for table, name, _definition in referencing:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for table in tables:
            kinds = ["f"] if table in keep_unique else ["f", "u"]
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = ANY(%s) ORDER BY contype DESC, conname",
                [table, kinds],
            )
            constraints = cursor.fetchall()  # unique ones first: they must be back before a key points at them
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND (%s OR NOT i.indisunique) ORDER BY 1",
                [table, table not in keep_unique],
            )
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, constraints, indexes))
        cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in tables)}")
    yield Load(fresh=set(tables))
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        for table, constraints, indexes in saved:
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        for table, name, definition in referencing:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    if progress:
        progress(f"Indexes and constraints of {', '.join(tables)} built in {time.monotonic() - began:.1f} s")
