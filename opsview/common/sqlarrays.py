"""Long lists as one query parameter on PostgreSQL, for ``= ANY(...)``.

psycopg renders a Python list parameter element by element in Python: about 1.7 us an element, most of
the cost of looking up a batch's 500 keys. These send the list as one string, made in C (orjson) or
by one join, that PostgreSQL unpacks: ``WHERE key = ANY({TEXTS})`` with ``texts(keys)`` as its parameter.
"""

import orjson

TEXTS = "ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))"
BIGINTS = "%s::bigint[]"


def texts(values):
    """The parameter of ``TEXTS``: strings as a JSON array."""
    return orjson.dumps(list(values)).decode()


def bigints(values):
    """The parameter of ``BIGINTS``: integers as an array literal."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"
