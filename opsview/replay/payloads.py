"""What a replay sends: the payload as last reported or as edited, with the workspace's mappings applied.

An edit is checked against the target's own fields (its connector's ``payload_schema``),
not opsview's ingest fields: the payload goes to the target, not to opsview.
"""

import copy

import jsonschema

from connectors import registry
from opsview.common.bounds import OutOfBounds, load_document
from opsview.common.masking import MASK
from opsview.queues.models import Mapping, MappingKind

# Where each kind of mapped value sits in a payload, per record type: dotted paths, ``[]`` for every
# item of a list. An invoice names its client as ``contact.code``, its project as ``reference`` and
# its taxes on its lines; other record types carry the codes at the top.
MAPPED_FIELDS = {
    MappingKind.PROJECT: ("project",),
    MappingKind.CLIENT: ("client",),
    MappingKind.PERSON: ("person",),
    MappingKind.TAX_CODE: ("tax_code",),
}
MAPPED_PATHS = {
    "invoice": {
        MappingKind.PROJECT: ("reference", "project"),
        MappingKind.CLIENT: ("contact.code", "client"),
        MappingKind.PERSON: ("person",),
        MappingKind.TAX_CODE: ("lines[].tax_code", "tax_code"),
    },
}
ERROR_LIMIT = 20
_MISSING = object()


class PayloadInvalid(ValueError):
    """An edited payload does not fit its target; ``errors`` says which field and why."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{e['field'] or 'payload'}: {e['message']}" for e in errors))


def original_payload(item):
    """The payload of the exception's last failed event, or None when none was reported."""
    return item.last_event.payload if item.last_event_id and item.last_event else None


def with_identity(payload, item):
    """A copy of ``payload`` carrying the record's id as ``external_id``, for targets that need it."""
    base = dict(payload) if isinstance(payload, dict) else {}
    base.setdefault("external_id", item.external_id)
    return base


def schema_for(vendor, record_type):
    """The JSON Schema of what the target system of ``vendor`` takes for ``record_type``, or None."""
    connector_class = registry.CONNECTORS.get(vendor or "")
    if connector_class is None:
        return None
    return connector_class.payload_schema(record_type)


def parse_edit(text, schema, shown):
    """The edited payload in ``text`` (JSON), checked against ``schema``; raises ``PayloadInvalid``.

    ``shown`` is the payload as the editor showed it, unmasked. A field still showing the
    mask keeps its value from ``shown``: the mask text is never sent.
    """
    try:
        edited = load_document(text)
    except OutOfBounds as problem:
        raise PayloadInvalid([{"field": None, "message": str(problem)}]) from None
    if not isinstance(edited, dict):
        raise PayloadInvalid([{"field": None, "message": "must be a JSON object"}])
    errors = []
    edited = _unmask(edited, shown, (), errors)
    if errors:
        raise PayloadInvalid(errors)
    if schema is not None:
        errors = schema_errors(schema, edited)
        if errors:
            raise PayloadInvalid(errors)
    return edited


def _unmask(value, shown, path, errors):
    if value == MASK:
        if shown is _MISSING or shown == MASK:
            errors.append({"field": _dotted(path), "message": "still shows the mask: type the value to send"})
        return shown
    if isinstance(value, dict):
        shown = shown if isinstance(shown, dict) else {}
        return {k: _unmask(v, shown.get(k, _MISSING), (*path, k), errors) for k, v in value.items()}
    if isinstance(value, list):
        shown = shown if isinstance(shown, list) else []
        return [_unmask(v, shown[i] if i < len(shown) else _MISSING, (*path, i), errors) for i, v in enumerate(value)]
    return value


def _dotted(path):
    return ".".join(str(p) for p in path) or None


def schema_errors(schema, payload):
    """``[{field, message}]`` for what in ``payload`` does not fit ``schema``, at most ERROR_LIMIT, by field."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        message = error.message
        if error.validator == "required":
            missing = next((name for name in error.validator_value if name in message), None)
            if missing is not None:
                path, message = [*path, missing], "is required"
        elif error.validator == "additionalProperties":
            message = "has fields the target does not take: " + message.split("(", 1)[-1].rstrip(")")
        errors.append({"field": _dotted(path), "message": message})
        if len(errors) >= ERROR_LIMIT:
            break
    return errors


def mappings_for(workspace, pairs):
    """``{(source_id, target_id): {(kind, source_value): target_value}}`` for the system pairs, in one query."""
    found = {pair: {} for pair in pairs}
    if not pairs:
        return found
    rows = Mapping.objects.for_workspace(workspace).filter(
        source_system_id__in={s for s, _ in pairs}, target_system_id__in={t for _, t in pairs}
    )
    for m in rows.values_list("source_system_id", "target_system_id", "kind", "source_value", "target_value"):
        if (m[0], m[1]) in found:
            found[(m[0], m[1])][(m[2], m[3])] = m[4]
    return found


def mapped_paths(record_type):
    """``{kind: (path, ...)}``: where the mapped values of ``record_type`` sit in its payload."""
    return MAPPED_PATHS.get(record_type or "", MAPPED_FIELDS)


def apply_mappings(payload, mappings, record_type=None):
    """``(payload with mapped values replaced, [{field, from, to}])``; the given payload is not changed.

    ``field`` names the place replaced, list items by their index ("lines[2].tax_code").
    """
    if not isinstance(payload, dict) or not mappings:
        return payload, []
    mapped, applied = copy.deepcopy(payload), []
    for kind, paths in mapped_paths(record_type).items():
        for path in paths:
            _replace(mapped, path.split("."), "", kind, mappings, applied)
    return mapped, applied


def _replace(node, steps, where, kind, mappings, applied):
    """Replace the mapped value at ``steps`` under ``node`` (a dict), in place, noting each replacement."""
    step, rest = steps[0], steps[1:]
    name, every = (step[:-2], True) if step.endswith("[]") else (step, False)
    if not isinstance(node, dict) or name not in node:
        return
    here = f"{where}.{name}" if where else name
    if every:
        items = node[name] if isinstance(node[name], list) else []
        for i, item in enumerate(items):
            if rest:
                _replace(item, rest, f"{here}[{i}]", kind, mappings, applied)
        return
    if rest:
        _replace(node[name], rest, here, kind, mappings, applied)
        return
    value = node[name]
    if isinstance(value, str) and (kind, value) in mappings:
        node[name] = mappings[(kind, value)]
        applied.append({"field": here, "from": value, "to": node[name]})
