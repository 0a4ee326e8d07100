"""Model instances from hand-written SQL, for the few queries every ingest request makes.

Building a query through the ORM costs 0.5 to 1.4 ms of CPU (a token with its system and workspace:
1.4 ms), more than PostgreSQL takes to answer it, and an ingest request of 500 events makes several.
``Selected`` writes a model's select list once and turns its part of each row back into an instance as
the ORM would, each value converted from the database as its field says.
"""

from django.db import connection


class Selected:
    """The columns of ``model`` under the table alias ``alias``, and instances from their values."""

    def __init__(self, model, alias):
        self.model, self.alias = model, alias
        self.fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in self.fields]
        self._converters = None

    def __len__(self):
        return len(self.fields)

    def columns(self):
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)

    def instance(self, values):
        """The instance whose values, in the order of ``columns()``, are ``values``."""
        if self._converters is None:
            self._converters = self._find_converters()
        values = list(values)
        for index, column, converters in self._converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def _find_converters(self):
        found = []
        for index, field in enumerate(self.fields):
            column = field.get_col(self.alias)
            converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            if converters:
                found.append((index, column, converters))
        return found
