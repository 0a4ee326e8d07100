"""The bounds every value from outside obeys before Python arithmetic or the database sees it.

One definition for the ingest API, query parameters, forms and values read back from stored payloads:

- integers fit a signed 64-bit column (ids, versions, counters);
- decimals are finite, with at most ``MAX_DIGITS`` digits in all and the field's decimal places;
- dates and date-times lie in the years ``MIN_YEAR``–``MAX_YEAR``; a date-time carries its offset;
- JSON documents (payloads) nest at most ``MAX_JSON_DEPTH`` levels and encode to at most
  ``MAX_PAYLOAD_BYTES``.

A value out of bounds raises ``OutOfBounds`` with a message fit to show the sender, never an
OverflowError or decimal.InvalidOperation from deeper down.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import orjson
from django import forms

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1  # counters stored in 32-bit columns (PositiveIntegerField)
# Money columns are numeric(14, 2): twelve digits before the point. Any decimal read from outside
# has at most this many digits, so arithmetic on it stays exact and cheap.
MAX_DIGITS = 14
MIN_YEAR, MAX_YEAR = 1900, 2200
MIN_DATE, MAX_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
MAX_JSON_DEPTH = 32
MAX_PAYLOAD_BYTES = 256 * 1024
# Longest digit string parsed as a number at all: int() of a long digit string is quadratic.
_MAX_NUMBER_TEXT = 64


class OutOfBounds(ValueError):
    """A value is malformed or outside its bounds; the message says which bound."""


def bounded_int(value, minimum=INT64_MIN, maximum=INT64_MAX):
    """``value`` (an int, or digits as text from a query string or form) as an int within the bounds."""
    if isinstance(value, str):
        text = value.strip()
        # isdigit() alone lets superscripts and other scripts' digits through, which int() refuses.
        if len(text) > _MAX_NUMBER_TEXT or not (text.isascii() and text.lstrip("+-").isdigit()):
            raise OutOfBounds(f"must be a whole number between {max(minimum, INT64_MIN)} and {maximum}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutOfBounds("must be an integer")
    minimum, maximum = max(minimum, INT64_MIN), min(maximum, INT64_MAX)
    if value < minimum:
        raise OutOfBounds(f"must be at least {minimum}")
    if value > maximum:
        raise OutOfBounds(f"must be at most {maximum}")
    return value


def id_or_none(value):
    """A row id from a query string, or None when it is missing, malformed or could not be an id."""
    try:
        return bounded_int(value, minimum=1)
    except OutOfBounds:
        return None


def bounded_decimal(value, decimal_places=2, minimum=None, maximum=None, max_digits=MAX_DIGITS, exact=True):
    """``value`` (a JSON number or numeric text) as a finite Decimal within the bounds.

    ``exact=False`` rounds further decimal places away instead of refusing them.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise OutOfBounds("must be a number")
    too_long = isinstance(value, str) and len(value) > _MAX_NUMBER_TEXT
    if too_long or (isinstance(value, int) and abs(value) >= 10**_MAX_NUMBER_TEXT):  # before str() of a huge int
        raise OutOfBounds(f"must be a number of at most {max_digits} digits")
    try:
        number = Decimal(value) if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise OutOfBounds(f"must be a number, not {value!r}") from None
    if not number.is_finite():
        raise OutOfBounds("must be a finite number")
    _, digits, exponent = number.as_tuple()
    if len(digits) + exponent > max_digits - decimal_places:  # checked first: rounding 1e300 overflows
        raise OutOfBounds(f"must have at most {max_digits - decimal_places} digits before the decimal point")
    if -exponent > decimal_places:
        if exact:
            raise OutOfBounds(f"must have at most {decimal_places} decimal places")
        number = number.quantize(Decimal(1).scaleb(-decimal_places))
    if minimum is not None and number < minimum:
        raise OutOfBounds(f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise OutOfBounds(f"must be at most {maximum}")
    return number


def money_or_none(value):
    """An amount read back from a stored payload, rounded to cents, or None when it is not a bounded number."""
    try:
        return bounded_decimal(value, exact=False)
    except OutOfBounds:
        return None


def _check_year(year):
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise OutOfBounds(f"must be in the years {MIN_YEAR}–{MAX_YEAR}")


def bounded_date(value):
    """``value`` ('YYYY-MM-DD' or a date) as a date in the years MIN_YEAR–MAX_YEAR."""
    if isinstance(value, datetime) or not isinstance(value, (str, date)):
        raise OutOfBounds("must be a date as 'YYYY-MM-DD'")
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise OutOfBounds(f"must be a date as 'YYYY-MM-DD', not {value[:40]!r}") from None
    _check_year(value.year)
    return value


def bounded_datetime(value):
    """``value`` (ISO 8601 text with an offset) as an aware datetime in the years MIN_YEAR–MAX_YEAR.

    The year is checked on the time as written, before any conversion to UTC, which is what overflows
    at the ends of the calendar.
    """
    example = "e.g. '2026-11-23T09:30:00Z'"
    if not isinstance(value, str):
        raise OutOfBounds(f"must be an ISO 8601 date-time with offset, {example}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OutOfBounds(f"must be an ISO 8601 date-time, not {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise OutOfBounds(f"needs a time zone offset, {example}")
    _check_year(moment.year)
    return moment


def json_depth_exceeds(value, max_depth=MAX_JSON_DEPTH):
    """True when ``value`` nests objects and arrays more than ``max_depth`` levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_document(value, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_PAYLOAD_BYTES):
    """Raise ``OutOfBounds`` unless ``value`` nests at most ``max_depth`` levels and encodes to ``max_bytes``."""
    if json_depth_exceeds(value, max_depth):
        raise OutOfBounds(f"must not nest objects and arrays more than {max_depth} levels deep")
    size = len(orjson.dumps(value))
    if size > max_bytes:
        raise OutOfBounds(f"must be at most {max_bytes} bytes as JSON (got {size})")
    return value


def load_document(text, max_depth=MAX_JSON_DEPTH, max_bytes=MAX_PAYLOAD_BYTES):
    """Parse JSON ``text`` typed by a person, within the bounds; ``OutOfBounds`` says what is wrong.

    The text is measured and its brackets counted before parsing, so a deeply nested text never
    reaches a recursive parser.
    """
    text = text or ""
    if len(text.encode()) > max_bytes:
        raise OutOfBounds(f"must be at most {max_bytes} bytes")
    if _bracket_depth(text) > max_depth:
        raise OutOfBounds(f"must not nest objects and arrays more than {max_depth} levels deep")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as problem:
        raise OutOfBounds(f"is not valid JSON: {problem}") from None
    return value


def _bracket_depth(text):
    """The deepest nesting of brackets outside strings: an upper bound a parser would reach."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def id_field(**kwargs):
    """A form field for a row id: whole numbers that fit a 64-bit column."""
    return forms.IntegerField(min_value=1, max_value=INT64_MAX, **kwargs)


def date_field(**kwargs):
    """A form field for a date within MIN_YEAR–MAX_YEAR, with the bound in its message."""
    return forms.DateField(validators=[_date_validator], **kwargs)


def _date_validator(value):
    try:
        bounded_date(value)
    except OutOfBounds as problem:
        raise forms.ValidationError(f"Enter a date {problem}.") from None
