"""Loading millions of rows into empty PostgreSQL tables the way PostgreSQL's manual advises.

Django's foreign keys are checked at commit, one lookup per row and key: for
5 million sync events that alone took longer than writing them. Into empty
tables, dropping the foreign keys and secondary indexes first and adding them
back afterwards checks and builds each in one pass instead. Everything happens
inside the caller's transaction, so a failed load leaves the schema as it was.
"""

from contextlib import contextmanager

from django.db import connection

INDEX_MEMORY = "256MB"


@contextmanager
def bulk_load(models):
    """Drop the foreign keys and non-unique indexes of ``models`` while loading them, if their tables are empty.

    Anywhere else (SQLite, or tables that already hold rows) it does nothing.
    """
    if connection.vendor != "postgresql" or any(model.objects.exists() for model in models):
        yield
        return
    quote = connection.ops.quote_name
    saved = []
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while checks deferred by earlier statements are pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
            saved.append((table, foreign_keys, indexes))
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        for table, foreign_keys, indexes in saved:
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            cursor.execute(f"ANALYZE {quote(table)}")  # so the first dashboards after a load plan well
