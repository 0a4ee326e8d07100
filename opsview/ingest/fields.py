"""Declarative item schemas for the ingest API.

Each record type is described once, as a tuple of ``Field``; the same
description validates incoming items (fast enough for thousands of items a
second, which DRF serializers are not) and produces the serializer that
documents the item in the OpenAPI schema.
"""

import re
from dataclasses import dataclass, field

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
