"""Sensitive payload fields are masked wherever a payload is shown: detail pages, history diffs, the
audit trail, the replay list and the payload editor. This module is the one rule for all of them.

A field is sensitive when its name, compared without case, '_', '-', '.' or spaces:
- contains one of ``SENSITIVE_WORDS`` (``iban_number``, ``userPassword``, ``X-Api-Key``,
  ``stripe_secret_key``, ``bank_account_no``...), whatever the workspace configured; or
- is one of the names the workspace's admins listed (queue settings).
"""

import json
import re

MASK = "•••••• (masked)"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")

# Parts of a field name that mark it sensitive in any workspace, written as they compare (normalised).
SENSITIVE_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "authorization",
    "cookie",
    "session",
    "iban",
    "accountnumber",
    "accountno",
    "bankaccount",
    "routingnumber",
    "sortcode",
    "taxid",
    "taxnumber",
    "vatnumber",
    "ssn",
    "socialsecurity",
    "nationalid",
    "passport",
    "creditcard",
    "cardnumber",
    "cvv",
    "cvc",
    "pin",
    "salary",
    "dateofbirth",
    "birthdate",
)
# "pin" alone is too common a part of words (shipping, mapping): it only counts as the whole name or its end.
_WHOLE_OR_END_ONLY = {"pin"}
_CONTAINED = tuple(w for w in SENSITIVE_WORDS if w not in _WHOLE_OR_END_ONLY)


def _norm(name):
    return _NOT_ALNUM.sub("", str(name).lower())


def is_sensitive(name, field_names=()):
    """True when the field ``name`` is masked: by the rule, or because it is in ``field_names``."""
    key = _norm(name)
    if any(word in key for word in _CONTAINED):
        return True
    if any(key.endswith(word) for word in _WHOLE_OR_END_ONLY):
        return True
    return key in {_norm(n) for n in field_names}


def mask(value, field_names):
    """A copy of ``value`` with every sensitive field (see the module) replaced by a mask, at any depth.

    ``field_names`` are the workspace's own names; they compare without case, '_', '-' or spaces, so
    ``bankAccount`` and ``bank_account`` are one field.
    """
    wanted = frozenset(_norm(n) for n in field_names)
    return _mask(value, wanted, {})


def _sensitive(key, wanted, seen):
    verdict = seen.get(key)
    if verdict is None:
        norm = _norm(key)
        verdict = seen[key] = (
            norm in wanted
            or any(word in norm for word in _CONTAINED)
            or any(norm.endswith(word) for word in _WHOLE_OR_END_ONLY)
        )
    return verdict


def _mask(value, wanted, seen):
    # Payloads are bounded in depth when they are ingested (opsview.common.bounds), so recursion is safe.
    if isinstance(value, dict):
        return {
            k: (MASK if v not in (None, "") and _sensitive(k, wanted, seen) else _mask(v, wanted, seen))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, wanted, seen) for v in value]
    return value


def readable_json(value, field_names):
    """The masked value as indented JSON, for a <pre>."""
    if value is None:
        return ""
    return json.dumps(mask(value, field_names), indent=2, ensure_ascii=False, sort_keys=True, default=str)


def sensitive_values(value, field_names=()):
    """The text of every sensitive field of ``value`` (see the module), at any depth, longest first.

    For blanking them out of what a system answered about the record: a target that repeats the
    record in its error message must not carry a masked field into the replay's error.
    """
    wanted, found = frozenset(_norm(n) for n in field_names), set()

    def walk(node, sensitive):
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, sensitive or _sensitive(key, wanted, {}))
        elif isinstance(node, list):
            for child in node:
                walk(child, sensitive)
        elif sensitive and node is not None and not isinstance(node, bool) and len(str(node)) >= 4:
            found.add(str(node))

    walk(value, False)
    return sorted(found, key=len, reverse=True)


def redact(text, values):
    """``text`` with each of ``values`` replaced by the mask."""
    for secret in values:
        text = text.replace(secret, MASK)
    return text
