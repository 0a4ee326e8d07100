"""Sensitive payload fields are masked wherever a payload is shown: detail pages and history diffs."""

import json
import re

MASK = "•••••• (masked)"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _norm(name):
    return _NOT_ALNUM.sub("", str(name).lower())


def mask(value, field_names):
    """A copy of ``value`` with every field named in ``field_names`` replaced by a mask, at any depth.

    Names compare without case, '_', '-' or spaces, so ``bankAccount`` and ``bank_account`` are one field.
    """
    wanted = {_norm(n) for n in field_names}
    return _mask(value, wanted)


def _mask(value, wanted):
    if isinstance(value, dict):
        return {k: (MASK if _norm(k) in wanted and v not in (None, "") else _mask(v, wanted)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, wanted) for v in value]
    return value


def readable_json(value, field_names):
    """The masked value as indented JSON, for a <pre>."""
    if value is None:
        return ""
    return json.dumps(mask(value, field_names), indent=2, ensure_ascii=False, sort_keys=True, default=str)
