"""Storing one page of a pull: its valid records, an event per record, and the cursor, all at once.

Records are stored through ``upsert_states``, the same validation and upsert as the
ingest API. A page is not all or nothing: the items that fail validation are set
aside and the rest stored; each one set aside becomes a failed event, as a missing
mapping when it refers to a client, person or project the system has not sent.
"""

from dataclasses import dataclass, fields

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from opsview.ingest.batches import BatchRejected
from opsview.ingest.events import store_events
from opsview.ingest.states import REFERENCED, STATE_TYPES, upsert_states
from opsview.pulls.models import PullCursor
from opsview.pulls.recording import record_event
from opsview.telemetry.models import Outcome

MISSING_MAPPING = "missing_mapping"
VALIDATION_REJECTED = "validation_rejected"
STALE = "older than the stored record; not applied"


class CursorMoved(Exception):
    """Another pull of the same records moved the cursor while this one ran."""


@dataclass
class Tally:
    """What a pull did with the records it read."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0

    def __add__(self, other):
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def counters(self):
        """The sync run's counters: stored records succeeded, rejected ones failed, the rest skipped."""
        return {
            "records_total": self.read,
            "records_succeeded": self.created + self.updated,
            "records_failed": self.rejected,
            "records_skipped": self.unchanged + self.stale,
        }

    def summary(self, kind):
        return (
            f"Read {self.read} {kind.name.replace('_', ' ')}: {self.created} new, {self.updated} changed, "
            f"{self.unchanged} unchanged, {self.stale} older than stored, {self.rejected} rejected."
        )


def store_page(system, kind, run, cursor, page, done):
    """Store ``page`` and move ``cursor`` past it in one transaction; returns the page's ``Tally``.

    ``done`` is the run's tally before this page (its counters are saved with the page).
    Raises ``CursorMoved`` (storing nothing) if the cursor is no longer where this pull read it.
    """
    items = [record.as_ingest() for record in page.records]
    now = timezone.now()
    tally = Tally(read=len(items))
    with transaction.atomic():
        events = []
        size = settings.INGEST_MAX_BATCH_ITEMS
        for start in range(0, len(items), size):
            events += _store_items(system, kind, run, items[start : start + size], tally, now)
        store_events(system.workspace, events)
        counters = (done + tally).counters()
        for name, value in counters.items():
            setattr(run, name, value)
        run.save(update_fields=list(counters))
        moved = PullCursor.objects.filter(pk=cursor.pk, cursor=cursor.cursor).update(
            cursor=page.next_cursor, advanced_at=now
        )
        if not moved:
            raise CursorMoved(f"another pull of {kind.name} from '{system.slug}' moved the cursor; this one stopped")
    cursor.cursor, cursor.advanced_at = page.next_cursor, now
    return tally


def _store_items(system, kind, run, items, tally, now):
    """Upsert the valid items; returns an event for every item."""
    state_type = STATE_TYPES[kind.state_type]
    pending, rejected = list(range(len(items))), {}
    counts = None
    while pending:
        try:
            counts = upsert_states(system, state_type, {"items": [items[i] for i in pending]})
            break
        except BatchRejected as rejection:
            for error in rejection.errors:
                rejected.setdefault(pending[error["index"]], []).append(error)
            pending = [i for i in pending if i not in rejected]
    stale = {pending[s["index"]] for s in counts["stale_items"]} if counts else set()
    if counts:
        tally.created += counts["created"]
        tally.updated += counts["updated"]
        tally.unchanged += counts["duplicates"]
        tally.stale += counts["stale"]
    tally.rejected += len(rejected)

    events = []
    for index in pending:
        outcome, message = (Outcome.SKIPPED, STALE) if index in stale else (Outcome.SUCCEEDED, "")
        events.append(record_event(system, run, kind.record_type, items[index], outcome, "", message, now))
    unknown = _unknown_references(system, state_type, [items[i] for i in rejected])
    for index, errors in sorted(rejected.items()):
        code, message = _failure(system, state_type, items[index], errors, unknown)
        events.append(record_event(system, run, kind.record_type, items[index], Outcome.FAILED, code, message, now))
    return events


def _failure(system, state_type, item, errors, unknown):
    """The error code and message of a rejected item: a missing mapping first, as it must be fixed first."""
    missing = [(ref, name, value) for ref, name, value in _references(state_type, item) if value in unknown[ref]]
    missing_fields = {name for _, name, _ in missing}
    problems = [f"unknown {ref} '{value}': '{system.slug}' has sent no {ref} with this id" for ref, _, value in missing]
    problems += [
        f"{e['field']}: {e['message']}" if e.get("field") else e["message"]
        for e in errors
        if e.get("field") not in missing_fields
    ]
    return (MISSING_MAPPING if missing else VALIDATION_REJECTED), "; ".join(problems)


def _references(state_type, item):
    """(record type referred to, field, external id) for each reference the item makes."""
    if not isinstance(item, dict):
        return []
    return [
        (f.ref, f.name, item[f.name])
        for f in state_type.fields
        if f.kind == "ref" and isinstance(item.get(f.name), str) and item[f.name]
    ]


def _unknown_references(system, state_type, items):
    """For each record type referred to, the external ids among ``items`` that the system has not sent."""
    wanted = {}
    for item in items:
        for ref, _, value in _references(state_type, item):
            wanted.setdefault(ref, set()).add(value)
    unknown = {f.ref: set() for f in state_type.fields if f.kind == "ref"}
    for ref, values in wanted.items():
        known = REFERENCED[ref].objects.filter(system=system, external_id__in=values).values_list("external_id")
        unknown[ref] = values - {value for (value,) in known}
    return unknown
