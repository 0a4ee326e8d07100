"""Long lists as one query parameter on PostgreSQL, for ``= ANY(...)``.

psycopg renders a Python list parameter element by element in Python: about 1.7 us an element, most of
the cost of looking up a batch's 500 keys. These render the list as one array literal, which reaches
the planner as a constant of known length, as a list would (an ``ARRAY(SELECT ...)`` of unknown length
made it scan the whole table): ``WHERE key = ANY({TEXTS})`` with ``texts(keys)`` as its parameter.
"""

import orjson
from django.db.models import Lookup

TEXTS = "%s::text[]"
BIGINTS = "%s::bigint[]"


def texts(values):
    """The parameter of ``TEXTS``: each string quoted as an element of an array literal."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def bigints(values):
    """The parameter of ``BIGINTS``: integers as an array literal, written by orjson (a drain's 20,000 ids in a
    twentieth of the time ``str`` takes)."""
    listed = orjson.dumps(list(values))
    if listed.translate(None, b"[]0123456789,-"):
        raise TypeError(f"not integers: {listed[:80]!r}")
    return "{" + listed[1:-1].decode() + "}"


class AnyText(Lookup):
    """``AnyText(F("field"), strings)`` in ``filter()``: the field is one of the strings, the list sent as one
    array parameter on PostgreSQL (``= ANY``) and as ``IN`` elsewhere. For lists of thousands."""

    lookup_name = "any_text"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY({TEXTS})", [*lhs_params, texts(values)]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
