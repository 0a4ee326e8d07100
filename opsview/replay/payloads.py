"""What a replay sends: the payload as last reported or as edited, with the workspace's mappings applied."""

from opsview.common.bounds import OutOfBounds, load_document
from opsview.ingest.fields import clean_item
from opsview.ingest.schemas import CLIENT, INVOICE, PERSON, PROJECT, TIME_ENTRY
from opsview.queues.masking import unmask
from opsview.queues.models import Mapping, MappingKind

SCHEMAS = {"time_entry": TIME_ENTRY, "invoice": INVOICE, "project": PROJECT, "client": CLIENT, "person": PERSON}

# The payload field that holds each kind of mapped value.
MAPPED_FIELDS = {
    MappingKind.PROJECT: "project",
    MappingKind.CLIENT: "client",
    MappingKind.PERSON: "person",
    MappingKind.TAX_CODE: "tax_code",
}


class PayloadInvalid(ValueError):
    """An edited payload does not fit its record type; ``errors`` says which field and why."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{e['field'] or 'payload'}: {e['message']}" for e in errors))


def original_payload(item):
    """The payload of the exception's last failed event, or None when none was reported."""
    return item.last_event.payload if item.last_event_id and item.last_event else None


def parse_edit(text, record_type, original):
    """The edited payload in ``text`` (JSON), checked against ``record_type``; raises ``PayloadInvalid``.

    Fields shown masked and left as they were keep their original value.
    """
    try:
        edited = load_document(text)
    except OutOfBounds as problem:
        raise PayloadInvalid([{"field": None, "message": str(problem)}]) from None
    if not isinstance(edited, dict):
        raise PayloadInvalid([{"field": None, "message": "must be a JSON object"}])
    edited = unmask(edited, original)
    schema = SCHEMAS.get(record_type)
    if schema is not None:
        errors = []
        clean_item(schema, edited, errors, 0)
        if errors:
            raise PayloadInvalid([{"field": e["field"], "message": e["message"]} for e in errors])
    return edited


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


def apply_mappings(payload, mappings):
    """``(payload with mapped values replaced, [{field, from, to}])``; the given payload is not changed."""
    if not isinstance(payload, dict) or not mappings:
        return payload, []
    mapped, applied = dict(payload), []
    for kind, field in MAPPED_FIELDS.items():
        value = payload.get(field)
        if isinstance(value, str) and (kind, value) in mappings:
            mapped[field] = mappings[(kind, value)]
            applied.append({"field": field, "from": value, "to": mapped[field]})
    return mapped, applied
