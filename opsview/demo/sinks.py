"""Writing generated rows in chunks, so memory stays flat however many rows are asked for.

Rows arrive as tuples in a fixed column order. ``BulkSink`` turns each chunk into
model instances for ``bulk_create``. ``InsertSink`` adapts each value with its
model field and runs one prepared INSERT with ``executemany``: on SQLite that
takes a third less time than ``bulk_create``, which builds and compiles every
instance. ``CopySink`` uses PostgreSQL's COPY, several times faster again: a
streaming sink keeps its COPY open and sends each row as it comes, so the server
stores rows while Python makes the next ones; a buffered sink sends a chunk at a
time. One connection runs one COPY at a time, so sinks sharing a connection take
turns through a ``CopyChannel``.

COPY speaks PostgreSQL's binary format: psycopg writes a row of Python values in
a fifth of the time the text format takes (dates and numbers are not spelt out)
and the server has nothing to parse back. Into a table emptied in the same
transaction (``pgload.bulk_load``) the rows are written frozen.
"""

from datetime import UTC

import orjson
from django.conf import settings
from django.db import connection
from psycopg.types.json import set_json_dumps

BULK_CHUNK = 5_000
COPY_CHUNK = 50_000
# Field types whose Python values a database driver cannot take as they are.
ADAPTED_TYPES = {"DateTimeField", "DecimalField", "JSONField", "DateField"}


class BulkSink:
    """Buffers rows and writes each full chunk with ``bulk_create``."""

    def __init__(self, model, columns, json_columns=(), chunk=BULK_CHUNK):
        self.model = model
        self.columns = columns
        self.chunk = chunk
        self.rows = []
        self.written = 0
        # bulk_create cannot send more parameters per statement than the database accepts.
        max_params = connection.features.max_query_params or 65_535
        self.batch_size = max(1, min(chunk, max_params // len(columns)))

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        model, columns = self.model, self.columns
        objs = [model(**dict(zip(columns, row, strict=True))) for row in self.rows]
        model.objects.bulk_create(objs, batch_size=self.batch_size)
        self.written += len(self.rows)
        self.rows = []

    def close(self, error=None):
        if error is None:
            self.flush()


class InsertSink:
    """Buffers rows and writes each full chunk with one prepared INSERT run by ``executemany``.

    Each value is adapted by its model field, as the ORM would, without building model instances.
    """

    def __init__(self, model, columns, json_columns=(), chunk=BULK_CHUNK):
        self.chunk = chunk
        self.rows = []
        self.written = 0
        fields = [model._meta.get_field(c) for c in columns]
        self.preps = [(i, _prep(f)) for i, f in enumerate(fields) if f.get_internal_type() in ADAPTED_TYPES]
        quote = connection.ops.quote_name
        names = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        preps = self.preps
        params = []
        for row in self.rows:
            row = list(row)
            for i, prep in preps:
                if row[i] is not None:
                    row[i] = prep(row[i], connection)
            params.append(row)
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, params)
        self.written += len(self.rows)
        self.rows = []

    def close(self, error=None):
        if error is None:
            self.flush()


def _utc_text(value, connection):
    """An aware datetime as SQLite stores it in UTC, as Django writes it, without Django's checks for each row."""
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _prep(field):
    # Adapting each datetime through its field was a third of the demo's seed time on SQLite; the generator's
    # datetimes are all aware, so SQLite in UTC takes them as plain text.
    if (
        field.get_internal_type() == "DateTimeField"
        and connection.vendor == "sqlite"
        and settings.USE_TZ
        and connection.timezone == UTC
    ):
        return _utc_text
    return field.get_db_prep_save


class CopyChannel:
    """The one COPY a connection may have open, handed from sink to sink."""

    def __init__(self):
        self.owner = None
        self._cursor = self._context = self.copy = None

    def take(self, sink):
        if self.owner is sink:
            return self.copy
        self.release()
        connection.ensure_connection()
        self._cursor = connection.connection.cursor()
        set_json_dumps(orjson.dumps, self._cursor)  # the payloads' JSON, as the text format wrote it
        types = sink.types(self._cursor)  # before the COPY starts: no other query may run during one
        self._context = self._cursor.copy(sink.sql)
        self.copy = self._context.__enter__()
        self.copy.set_types(types)
        self.owner = sink
        return self.copy

    def release(self, error=None):
        if self.owner is None:
            return
        context, cursor = self._context, self._cursor
        self.owner = self._cursor = self._context = self.copy = None
        try:
            # Given the error, psycopg aborts the COPY instead of committing its rows.
            context.__exit__(type(error) if error else None, error, None)
        finally:
            cursor.close()


class CopySink:
    """Sends rows to PostgreSQL with COPY ... FROM STDIN in the binary format, streaming or a chunk at a time.

    ``freeze``: the table was emptied in this transaction (``pgload.Load.fresh``), so its rows may go in frozen.
    """

    def __init__(self, model, columns, json_columns=(), channel=None, stream=False, chunk=COPY_CHUNK, freeze=False):
        self.channel = channel or CopyChannel()
        self.stream = stream
        self.chunk = chunk
        self.rows = []
        self.written = 0
        self.table = model._meta.db_table
        self.names = [model._meta.get_field(c).column for c in columns]
        quoted = ", ".join(connection.ops.quote_name(name) for name in self.names)
        options = "FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY"
        self.sql = f"COPY {connection.ops.quote_name(self.table)} ({quoted}) FROM STDIN WITH ({options})"
        self._types = None

    def types(self, cursor):
        """The columns' type oids, as the binary format needs them, read once from the table."""
        if self._types is None:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                [self.table],
            )
            oids = dict(cursor.fetchall())
            self._types = [oids[name] for name in self.names]
        return self._types

    def add(self, row):
        if self.stream:
            self.channel.take(self).write_row(row)
            self.written += 1
            return
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self.flush()

    def flush(self):
        if self.rows:
            copy = self.channel.take(self)
            for row in self.rows:
                copy.write_row(row)
            self.written += len(self.rows)
            self.rows = []
        if self.channel.owner is self:
            self.channel.release()

    def close(self, error=None):
        if error is None:
            self.flush()
        elif self.channel.owner is self:
            self.channel.release(error)


def make_sinks(specs, method="auto", fresh=()):
    """One sink per (model, columns, json_columns); with COPY the first one streams.

    ``method`` is "copy" (PostgreSQL only), "insert" (executemany), "bulk" (bulk_create),
    or "auto": COPY on PostgreSQL, else executemany. ``fresh`` names the tables emptied in this
    transaction (``pgload.Load.fresh``): COPY writes their rows frozen.
    """
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "insert"
    if method == "bulk":
        return [BulkSink(model, columns, json_columns) for model, columns, json_columns in specs]
    if method == "insert":
        return [InsertSink(model, columns, json_columns) for model, columns, json_columns in specs]
    if connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL.")
    channel = CopyChannel()
    return [
        CopySink(model, columns, json_columns, channel=channel, stream=i == 0, freeze=model._meta.db_table in fresh)
        for i, (model, columns, json_columns) in enumerate(specs)
    ]
