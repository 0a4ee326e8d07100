"""Declarative item schemas for the ingest API.

Each record type is described once, as a tuple of ``Field``; the same
description validates incoming items (fast enough for thousands of items a
second, which DRF serializers are not) and produces the serializer that
documents the item in the OpenAPI schema.
"""

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec
import orjson
from rest_framework import serializers

from opsview.common import bounds

MISSING = object()
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
REF_MAX_LENGTH = 128  # external ids are stored in 128 characters


class Invalid(Exception):
    """One field's value is wrong; the message says how."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # str, slug, int, decimal, bool, date, datetime, choice, object, currency, ref
    required: bool = False
    help: str = ""
    max_length: int = 255
    choices: tuple = ()
    min_value: object = None
    max_value: object = None
    decimal_places: int = 2
    ref: str = ""  # for kind "ref": the record type referred to by external id
    default: object = MISSING
    extra: dict = field(default_factory=dict)


def _str(f, value):
    if not isinstance(value, str):
        raise Invalid("must be a string")
    if f.required and not value.strip():
        raise Invalid("must not be empty")
    if len(value) > f.max_length:
        raise Invalid(f"must be at most {f.max_length} characters (got {len(value)})")
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text; refuse it here rather than fail the whole write.
        raise Invalid("must not contain the NUL character (\\u0000)")
    return value


def _slug(f, value):
    value = _str(f, value)
    if not SLUG_RE.match(value):
        raise Invalid("must be lower-case letters, digits, '-' or '_'")
    return value


def _currency(f, value):
    if not isinstance(value, str) or not CURRENCY_RE.match(value):
        raise Invalid("must be a three-letter ISO 4217 code in capitals, e.g. 'EUR'")
    return value


def _int(f, value):
    if isinstance(value, bool) or not isinstance(value, int):  # "5" is text, not a number, in JSON
        raise Invalid("must be an integer")
    try:
        return bounds.bounded_int(value, *_limits(f))
    except bounds.OutOfBounds as problem:
        raise Invalid(str(problem)) from None


def _limits(f):
    return (
        bounds.INT64_MIN if f.min_value is None else f.min_value,
        bounds.INT64_MAX if f.max_value is None else f.max_value,
    )


def _decimal(f, value):
    try:
        return bounds.bounded_decimal(value, f.decimal_places, f.min_value, f.max_value)
    except bounds.OutOfBounds as problem:
        raise Invalid(str(problem)) from None


def _bool(f, value):
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


def _date(f, value):
    if not isinstance(value, str):
        raise Invalid("must be a date as 'YYYY-MM-DD'")
    try:
        return bounds.bounded_date(value)
    except bounds.OutOfBounds as problem:
        raise Invalid(str(problem)) from None


def _datetime(f, value):
    try:
        return bounds.bounded_datetime(value)
    except bounds.OutOfBounds as problem:
        raise Invalid(str(problem)) from None


def _choice(f, value):
    if value not in f.choices:
        raise Invalid(f"must be one of {', '.join(f.choices)} (got {repr(value)[:60]})")
    return value


def _object(f, value):
    if not isinstance(value, dict):
        raise Invalid("must be a JSON object")
    try:
        return bounds.check_document(value)
    except bounds.OutOfBounds as problem:
        raise Invalid(str(problem)) from None


def _ref(f, value):
    if not isinstance(value, str) or not value:
        raise Invalid(f"must be the external id of a {f.ref.replace('_', ' ')}")
    if len(value) > REF_MAX_LENGTH:
        raise Invalid(f"must be at most {REF_MAX_LENGTH} characters (got {len(value)})")
    return value


CLEANERS = {
    "str": _str,
    "slug": _slug,
    "currency": _currency,
    "int": _int,
    "decimal": _decimal,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
    "choice": _choice,
    "object": _object,
    "ref": _ref,
}


# Each schema's field names and cleaners, worked out once rather than for every item of every
# batch (validation runs for each of up to 1,000 items per request). Keyed by the schema's id;
# the entry holds the schema itself, so that id cannot be reused by another tuple.
_PLANS = {}


def _plan(fields):
    plan = _PLANS.get(id(fields))
    if plan is None or plan[0] is not fields:
        steps = tuple((f.name, f, CLEANERS[f.kind]) for f in fields)
        plan = _PLANS[id(fields)] = (fields, frozenset(f.name for f in fields), steps)
    return plan


def clean_item(fields, item, errors, index):
    """Return the cleaned item, appending ``{index, field, message}`` to ``errors`` for each problem."""
    if not isinstance(item, dict):
        errors.append({"index": index, "field": None, "message": "must be a JSON object"})
        return None
    _, known, steps = _plan(fields)
    if not known.issuperset(item):
        for name in item:
            if name not in known:
                errors.append(
                    {"index": index, "field": str(name)[:100], "message": "is not a field of this record type"}
                )
    cleaned = {}
    for name, f, clean in steps:
        value = item.get(name)  # absent and null are treated alike
        if value is None:
            if f.required:
                errors.append({"index": index, "field": name, "message": "is required"})
            elif f.default is not MISSING:
                cleaned[name] = f.default
            else:
                cleaned[name] = None
            continue
        try:
            cleaned[name] = clean(f, value)
        except Invalid as problem:
            errors.append({"index": index, "field": name, "message": str(problem)})
    return cleaned


# --- the compiled fast path -------------------------------------------------------------------------
# ``clean_item`` costs about 15 us an item in Python, the largest part of an ingest request's own work
# after the database. ``quick_clean`` checks a whole batch with a msgspec type compiled from the same
# fields (in C) and answers the same cleaned dicts, or None as soon as any item is wrong in any way:
# the caller then runs ``clean_item``, which names every problem by index and field, so the 400s say
# exactly what they always said. The compiled type may be stricter than ``clean_item`` (a stricter
# check only sends a valid batch down the slow path), never more lenient, and where msgspec's own
# reading of a value differs (date-times: msgspec takes 't' and 'z' and rounds beyond microseconds)
# the value is checked by the same function ``clean_item`` uses.

# JSON nesting is at most one level per bracket, so a document with this few brackets is shallow enough
# without walking it.
_SHALLOW_BRACKETS = bounds.MAX_JSON_DEPTH


def _compiled_type(f, as_text=False):
    """The msgspec type of one field, the Python check each value still needs and the check of a batch's values
    all at once (None when there is none); with ``as_text``, an object field is read as its JSON text."""
    if f.kind in ("str", "slug"):
        # No pattern in the type: msgspec matches one per value through Python's re, which cost more than all
        # its own checks together. The batch's values are checked together instead (``_text_check``).
        kind = Annotated[str, msgspec.Meta(max_length=f.max_length, min_length=1 if f.required else 0)]
        return kind, None, _text_check(f)
    if f.kind == "int":
        low, high = _limits(f)
        return Annotated[int, msgspec.Meta(ge=low, le=high)], None, None
    if f.kind == "choice" and all(isinstance(c, str) for c in f.choices):
        return Literal[f.choices], None, None
    if f.kind == "datetime":
        return str, bounds.bounded_datetime, None
    if f.kind == "object":
        return (msgspec.Raw, _json_text, None) if as_text else (Any, _document, None)
    return None, None, None


def _text_check(f):
    """Whether all of a batch's values of text field ``f`` are as ``_str`` (and ``_slug``) take them."""

    def check(values):
        present = [value for value in values if value]
        # One search of all the text for NUL; blank text (which ``_str`` refuses when required) is rare.
        if "\x00" in "".join(present) or (f.required and any(map(str.isspace, present))):
            return False
        # A batch repeats its record types and systems: each distinct one is matched once.
        return f.kind != "slug" or all(SLUG_RE.match(value) for value in set(present))

    return check


def _document(value):
    """A payload as ``_object`` takes it; checks the encoding's size and NUL once, walks it only when deep."""
    if not isinstance(value, dict):
        raise bounds.OutOfBounds("not an object")
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise bounds.OutOfBounds("not JSON") from None
    if len(encoded) > bounds.MAX_PAYLOAD_BYTES or b"\\u0000" in encoded:
        raise bounds.OutOfBounds("too large or NUL")
    if encoded.count(b"{") + encoded.count(b"[") > _SHALLOW_BRACKETS and bounds.json_depth_exceeds(value):
        raise bounds.OutOfBounds("too deep")
    return value


class JsonText(bytes):
    """A JSON object as the text it came in (``quick_decode``), to be stored as it is."""

    __slots__ = ()


# What PostgreSQL's jsonb or orjson (the slow path's parser) might read otherwise than msgspec, which has
# checked the text's syntax: escapes of NUL and of surrogates (jsonb refuses them, orjson refuses lone ones),
# and numbers with an exponent (orjson refuses those beyond a double's range). Text that merely looks like
# them (inside a string) only sends its batch down the slow path. Each pattern is searched only where a
# plain search of the text finds what it starts with: the regular expressions cost more than all the rest.
_UNSURE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_EXPONENT = re.compile(rb"[:\[,]\s*-?[0-9]+(?:\.[0-9]+)?[eE]")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")


def _unsure_json(text):
    return (b"\\u" in text and _UNSURE_ESCAPE.search(text)) or (
        b"0e" in text.translate(_DIGITS_AS_ZERO) and _EXPONENT.search(text)
    )


_NULL_TEXT = msgspec.Raw(b"null")


def _json_text(raw):
    """A payload's text as ``_document`` takes the payload (None for null), or ``OutOfBounds`` for the slow
    path to name."""
    text = _plain_json_text(raw)
    if text is not None and _unsure_json(text):
        raise bounds.OutOfBounds("not as jsonb reads it")
    return text


def _plain_json_text(raw):
    """``_json_text`` of a payload in a body where ``_unsure_json`` finds nothing."""
    text = JsonText(raw)
    if text == b"null":
        return None
    # No JSON value encodes to more than twice its shortest text (a 20-digit integer read as a double grows
    # from 20 to 22 characters): within half the limit, the payload is within the limit however it is encoded.
    if text[:1] != b"{" or len(text) > bounds.MAX_PAYLOAD_BYTES // 2:
        raise bounds.OutOfBounds("not an object, or maybe too large")
    if text.count(b"{") + text.count(b"[") > _SHALLOW_BRACKETS:
        raise bounds.OutOfBounds("maybe too deep")
    return text


_COMPILED = {}


def _compile(fields, as_text=False):
    """``(list type, value checks, batch checks)`` for ``fields``, or None when a kind has no compiled form (the
    slow path serves). With ``as_text`` the list type is that of a whole body, ``{"items": [...]}``, and object
    fields stay JSON text (``JsonText``)."""
    entry = _COMPILED.get((id(fields), as_text))
    if entry is not None and entry[0] is fields:
        return entry[1]
    attrs, checks, batch_checks, compiled = [], [], [], None
    for f in fields:
        kind, check, batch_check = _compiled_type(f, as_text)
        if kind is None:
            break
        if f.default is not MISSING:
            attrs.append((f.name, kind, f.default))  # null is not the default here: the slow path says so
        elif f.required:
            attrs.append((f.name, kind))
        elif kind is msgspec.Raw:  # msgspec reads no JSON but null as ``Raw | None``
            attrs.append((f.name, kind, _NULL_TEXT))
        else:
            attrs.append((f.name, kind | None, None))
        if check is not None:
            checks.append((f.name, check))
        if batch_check is not None:
            batch_checks.append((f.name, batch_check))
    else:
        # msgspec wants fields with defaults last; the order of a dict from asdict is irrelevant.
        attrs.sort(key=lambda a: len(a) == 3)
        struct = msgspec.defstruct("Item", attrs, forbid_unknown_fields=True)
        list_type = list[struct]
        if as_text:
            list_type = msgspec.defstruct("Batch", [("items", list_type)], forbid_unknown_fields=True)
        compiled = (list_type, tuple(checks), tuple(batch_checks))
    _COMPILED[(id(fields), as_text)] = (fields, compiled)
    return compiled


def quick_clean(fields, items):
    """``items`` cleaned as ``clean_item`` cleans them, as dicts, or None when any needs ``clean_item``."""
    compiled = _compile(fields)
    if compiled is None:
        return None
    list_type, checks, batch_checks = compiled
    try:
        structs = msgspec.convert(items, list_type)
    except msgspec.ValidationError:
        return None
    return _checked(structs, checks, batch_checks)


def quick_decode(fields, text):
    """The items of a batch body's JSON ``text`` (``{"items": [...]}``), decoded and cleaned as ``quick_clean``
    cleans them, except that each object field stays the ``JsonText`` it came in; None as soon as anything
    needs the slow path (parsing the body, ``items_of`` and ``clean_item``), an empty list included.

    Decoding the text straight into the compiled type, rather than into Python values first, skips building
    and encoding again every payload, which ingest only stores (about a third of an ingest request's Python).
    """
    compiled = _compile(fields, as_text=True)
    if compiled is None:
        return None
    batch_type, checks, batch_checks = compiled
    try:
        structs = msgspec.json.decode(text, type=batch_type).items
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):  # nested too deep for msgspec
        return None
    if not structs:
        return None
    texts = [name for name, check in checks if check is _json_text]
    if texts and not _unsure_json(b"\n".join([getattr(item, name) for item in structs for name in texts])):
        # Searched once in all the payloads' text together, which costs a third of searching each one.
        checks = tuple((name, _plain_json_text if check is _json_text else check) for name, check in checks)
    return _checked(structs, checks, batch_checks)


def _checked(structs, checks, batch_checks):
    """The decoded items as dicts, their values checked; None when a check fails."""
    asdict = msgspec.structs.asdict
    cleaned = [asdict(item) for item in structs]
    for name, batch_check in batch_checks:
        if not batch_check([item[name] for item in cleaned]):
            return None
    try:
        for name, check in checks:
            for item in cleaned:
                value = item[name]
                if value is not None:
                    item[name] = check(value)
    except bounds.OutOfBounds:
        return None
    return cleaned


SERIALIZER_FIELDS = {
    "str": lambda f: serializers.CharField(max_length=f.max_length),
    "slug": lambda f: serializers.SlugField(max_length=f.max_length),
    "currency": lambda f: serializers.RegexField(CURRENCY_RE.pattern, max_length=3),
    "int": lambda f: serializers.IntegerField(min_value=_limits(f)[0], max_value=_limits(f)[1]),
    "decimal": lambda f: serializers.DecimalField(
        max_digits=bounds.MAX_DIGITS, decimal_places=f.decimal_places, min_value=f.min_value, max_value=f.max_value
    ),
    "bool": lambda f: serializers.BooleanField(),
    "date": lambda f: serializers.DateField(),
    "datetime": lambda f: serializers.DateTimeField(),
    "choice": lambda f: serializers.ChoiceField(choices=f.choices),
    "object": lambda f: serializers.JSONField(),
    "ref": lambda f: serializers.CharField(max_length=REF_MAX_LENGTH),
}


def item_serializer(name, fields):
    """A DRF serializer class describing ``fields``, for the OpenAPI schema only."""
    attrs = {}
    for f in fields:
        drf_field = SERIALIZER_FIELDS[f.kind](f)
        drf_field.required = f.required
        drf_field.allow_null = not f.required
        drf_field.help_text = f.help
        attrs[f.name] = drf_field
    return type(name, (serializers.Serializer,), attrs)
