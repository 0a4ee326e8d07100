"""An audit entry's before and after, as the fields that changed: what the history and audit pages show."""

from opsview.common.masking import mask


def flatten(value, prefix=""):
    """Nested dicts as dotted keys, so a payload edit reads ``payload.hours: 7.5 → 8``."""
    if not isinstance(value, dict):
        return {prefix or "value": value}
    flat = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(inner, name) if isinstance(inner, dict) and inner else {name: inner})
    return flat


def changes(before, after):
    """``(field, before, after)`` for every field whose value differs, in field order."""
    old = flatten(before) if before is not None else {}
    new = flatten(after) if after is not None else {}
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def masked_changes(entry, masked_fields):
    """The fields ``entry`` changed, sensitive fields masked as the detail pages mask them.

    ``masked_fields`` are the workspace's own sensitive field names; the rule's words are masked whatever
    they are (see ``opsview.common.masking``).
    """
    return changes(mask(entry.before, masked_fields), mask(entry.after, masked_fields))
