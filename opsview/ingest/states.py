"""Upserting business states: clients, people, projects, time entries, invoices, and postings.

A record is keyed by (system, external id). A report older than what is stored
(by ``version``, else by ``updated_at``) is not applied: out-of-order delivery
never rolls data back. Each item ends as exactly one of created, updated,
duplicate or stale, and the counts say so.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from opsview.ingest import schemas
from opsview.ingest.batches import BatchRejected, items_of
from opsview.ingest.fields import clean_item
from opsview.queues import state_rules
from opsview.records.models import Client, Invoice, Person, Posting, Project, TimeEntry, TimeEntryStatus
from opsview.records.sides import carried_by, refresh_entries_carried
from opsview.systems.models import System

REFERENCED = {"client": Client, "person": Person, "project": Project}


@dataclass(frozen=True)
class StateType:
    name: str  # as in the URL
    model: type
    fields: tuple

    @property
    def data_fields(self):
        return [f for f in self.fields if f.name not in ("external_id", "version", "updated_at")]


STATE_TYPES = {
    t.name: t
    for t in (
        StateType("clients", Client, schemas.CLIENT),
        StateType("people", Person, schemas.PERSON),
        StateType("projects", Project, schemas.PROJECT),
        StateType("time-entries", TimeEntry, schemas.TIME_ENTRY),
        StateType("invoices", Invoice, schemas.INVOICE),
        StateType("postings", Posting, schemas.POSTING),
    )
}


def _check_rules(state_type, cleaned, errors, index):
    if cleaned.get("version") is None and cleaned.get("updated_at") is None:
        errors.append({"index": index, "field": "version", "message": "send 'version' or 'updated_at' (or both)"})
    approved = state_type.model is TimeEntry and cleaned.get("status") == TimeEntryStatus.APPROVED
    if approved and cleaned.get("approved_at") is None:
        errors.append({"index": index, "field": "approved_at", "message": "is required when status is 'approved'"})
    if state_type.model is Posting:
        _check_posting(cleaned, errors, index)


# What reconciliation matches a posting by: a time line's hours, an invoice's number and amount.
POSTING_NEEDS = {"time_entry": ("hours",), "invoice": ("number", "amount")}


def _check_posting(cleaned, errors, index):
    record_type = cleaned.get("record_type")
    for name in POSTING_NEEDS.get(record_type, ()):
        if cleaned.get(name) in (None, ""):
            message = f"is required when record_type is '{record_type}'"
            errors.append({"index": index, "field": name, "message": message})


def _resolve_references(state_type, system, valid, errors):
    """Replace each referenced external id (or system slug) by the row's primary key; unknown ones are errors."""
    resolved = {}
    for f in state_type.fields:
        if not f.ref:
            continue
        wanted = {c[f.name] for _, c in valid if c.get(f.name)}
        if not wanted:
            continue
        found = resolved[f.name] = _found(f, system, wanted)
        for index, cleaned in valid:
            ext = cleaned.get(f.name)
            if ext and ext not in found:
                errors.append({"index": index, "field": f.name, "message": _unknown(f, system, ext)})
            elif f.ref == "system" and ext == system.slug:
                message = f"is this token's own system '{ext}'; name the system the carried record comes from"
                errors.append({"index": index, "field": f.name, "message": message})
    return resolved


def _found(f, system, wanted):
    if f.ref == "system":
        # A posting's source is another system of the same workspace, named by its slug.
        systems = System.objects.for_workspace(system.workspace_id).filter(slug__in=wanted)
        return dict(systems.values_list("slug", "id"))
    model = REFERENCED[f.ref]
    return dict(model.objects.filter(system=system, external_id__in=wanted).values_list("external_id", "id"))


def _unknown(f, system, ext):
    if f.ref == "system":
        return f"no system '{ext}' in this workspace"
    return (
        f"no {f.ref.replace('_', ' ')} with external id '{ext}' in system '{system.slug}'; "
        "send it before the records that refer to it"
    )


def _order(cleaned, stored):
    """-1 if the report is older than the stored record, 0 if the same version, 1 if newer."""
    version, stored_version = cleaned.get("version"), stored.source_version
    if version is not None and stored_version is not None:
        return (version > stored_version) - (version < stored_version)
    updated, stored_updated = cleaned.get("updated_at"), stored.source_updated_at
    if updated is not None and stored_updated is not None:
        return (updated > stored_updated) - (updated < stored_updated)
    return 1


def _apply(state_type, obj, cleaned, resolved, now):
    for f in state_type.data_fields:
        value = cleaned[f.name]
        if f.ref:
            setattr(obj, f"{f.name}_id", resolved[f.name][value] if value else None)
        else:
            setattr(obj, f.name, value if value is not None else _blank(obj, f.name))
    obj.source_version = cleaned.get("version")
    obj.source_updated_at = cleaned.get("updated_at")
    obj.received_at = now


def _blank(obj, name):
    model_field = obj._meta.get_field(name)
    return None if model_field.null else model_field.get_default()


def _refresh_sides(model, system, written, carried_before):
    """The sides holding each entry's hours change with its hours and with the postings carrying it."""
    if model is TimeEntry:
        carried = {(system.pk, entry.external_id) for entry in written}
    elif model is Posting:
        carried = carried_by(written) | carried_before
    else:
        return
    refresh_entries_carried(system.workspace_id, carried)


def upsert_states(system, state_type, body):
    """Validate a batch of ``state_type`` items and upsert it for ``system``, all or nothing.

    ``system`` is the system the records come from: the API token's, or the
    system a scheduled pull reads.
    """
    items = items_of(body)
    errors, valid = [], []
    for index, item in enumerate(items):
        before = len(errors)
        cleaned = clean_item(state_type.fields, item, errors, index)
        if cleaned is None or len(errors) > before:
            continue
        _check_rules(state_type, cleaned, errors, index)
        if len(errors) == before:
            valid.append((index, cleaned))
    resolved = _resolve_references(state_type, system, valid, errors)
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise BatchRejected(errors, len(items))
    try:
        return _write(state_type, system, valid, resolved)
    except IntegrityError:
        # Another batch created one of these records between our read and write;
        # a second pass sees it and updates it instead.
        return _write(state_type, system, valid, resolved)


def _write(state_type, system, valid, resolved):
    model = state_type.model
    now = timezone.now()
    counts = {"received": len(valid), "created": 0, "updated": 0, "duplicates": 0, "stale": 0}
    stale_items = []
    with transaction.atomic():
        external_ids = {c["external_id"] for _, c in valid}
        current = {
            obj.external_id: obj
            for obj in model.objects.select_for_update().filter(system=system, external_id__in=external_ids)
        }
        created, updated = {}, {}
        # The entries the stored postings carry before this batch: an updated posting may now carry another.
        carried_before = carried_by(current.values()) if model is Posting else set()
        for index, cleaned in valid:
            ext = cleaned["external_id"]
            obj = current.get(ext)
            if obj is None:
                obj = model(workspace_id=system.workspace_id, system=system, external_id=ext)
                _apply(state_type, obj, cleaned, resolved, now)
                current[ext] = created[ext] = obj
                counts["created"] += 1
                continue
            order = _order(cleaned, obj)
            if order < 0:
                counts["stale"] += 1
                stale_items.append(
                    {
                        "index": index,
                        "external_id": ext,
                        "message": "older than the stored record; not applied",
                        "stored_version": obj.source_version,
                        "stored_updated_at": obj.source_updated_at,
                    }
                )
            elif order == 0:
                counts["duplicates"] += 1
            else:
                _apply(state_type, obj, cleaned, resolved, now)
                if ext not in created:
                    updated[ext] = obj
                counts["updated"] += 1
        model.objects.bulk_create(list(created.values()), batch_size=500)
        if updated:
            columns = [f.name for f in state_type.data_fields] + ["source_version", "source_updated_at", "received_at"]
            model.objects.bulk_update(list(updated.values()), columns, batch_size=500)
        _refresh_sides(model, system, [*created.values(), *updated.values()], carried_before)
    state_rules.on_states(system.workspace, model, system, [*created, *updated])
    counts["stale_items"] = stale_items
    return counts
