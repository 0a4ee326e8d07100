"""What detection shares: exception keys, groups by fingerprint, record values, automatic resolve and reopen.

Everything here is set-based, because it runs inside ingest: a batch of 1,000
events costs a handful of queries, whatever it holds.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Q

from opsview.audit.trail import record_many
from opsview.common.bounds import money_or_none
from opsview.common.sqlarrays import AnyText
from opsview.queues.models import ExceptionGroup, ExceptionItem, Resolution, Status
from opsview.queues.rowupdates import update_each
from opsview.records.models import Invoice, Project, TimeEntry


def sync_key(source_system_id, target_system_id, record_type, external_id):
    """A record fails on one track per target: its failures going to billing and to the ERP are two exceptions."""
    return f"sync>{target_system_id}|{source_system_id}|{record_type}|{external_id}"[:255]


def sync_key_sql(event):
    """``sync_key`` in PostgreSQL of the sync event row named ``event`` in a query: the drain matches successes to
    their exceptions there."""
    return (
        f"left('sync>' || {event}.target_system_id || '|' || {event}.source_system_id || '|' || {event}.record_type"
        f" || '|' || {event}.external_id, 255)"
    )


def state_key(kind, system_id, record_type, external_id):
    return f"{kind}|{system_id}|{record_type}|{external_id}"[:255]


GROUP_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass
class GroupSpec:
    fingerprint: str
    kind: str
    system_id: int
    record_type: str
    error_code: str
    message: str
    mapping_kind: str = ""
    mapping_value: str = ""


def ensure_groups(workspace, specs, seen_at):
    """The group of each fingerprint in ``specs`` (a dict fingerprint → GroupSpec), created when new."""
    if not specs:
        return {}
    groups = {g.fingerprint: g for g in ExceptionGroup.objects.for_workspace(workspace).filter(fingerprint__in=specs)}
    missing = [
        ExceptionGroup(workspace=workspace, first_seen_at=seen_at, last_seen_at=seen_at, **vars(spec))
        for fp, spec in specs.items()
        if fp not in groups
    ]
    if missing:
        ExceptionGroup.objects.bulk_create(missing, ignore_conflicts=True)
        fresh = ExceptionGroup.objects.for_workspace(workspace).filter(fingerprint__in=[g.fingerprint for g in missing])
        groups.update({g.fingerprint: g for g in fresh})
    # A group's "last seen" moves at most once a minute: concurrent ingest batches of one cause would
    # otherwise queue behind each other's lock on the group's row until they commit.
    stale = [g for g in groups.values() if g.last_seen_at < seen_at - GROUP_SEEN_RESOLUTION]
    if stale:
        ExceptionGroup.objects.filter(id__in=[g.id for g in stale], last_seen_at__lt=seen_at).update(
            last_seen_at=seen_at
        )
    return groups


@dataclass
class RecordValue:
    """What an exception learns from its record: the money it holds up, its date, where it belongs and
    the business words (``facts``: number, person, project, client) its title and search text are made of."""

    amount: Decimal = Decimal(0)
    currency: str = ""
    record_date: date | None = None
    time_entry_id: int | None = None
    invoice_id: int | None = None
    project_id: int | None = None
    client_id: int | None = None
    facts: dict = field(default_factory=dict)


def describe(record_type, external_id, facts, amount=None):
    """``(title, search_text)`` of an exception: the one place that says how a record is named and found.

    ``facts`` may hold ``number`` (invoice), ``person``, ``day``, ``project_code``, ``project_name`` and
    ``client``. The title is what a finance user calls the record (invoice INV-2026-0154; project NW-0451;
    a time entry by person, day and project code), never a system's internal id when a better name is known.
    The search text is lower case, so a trigram index answers ``LIKE '%kestrel%'`` on PostgreSQL.
    """
    number, person, day = facts.get("number") or "", facts.get("person") or "", facts.get("day")
    code, name, client = facts.get("project_code") or "", facts.get("project_name") or "", facts.get("client") or ""
    if record_type == "invoice" and number:
        title = f"Invoice {number}" + (f" · {client}" if client else "")
    elif record_type == "time_entry" and (person or day):
        parts = [person, f"{day:%Y-%m-%d}" if isinstance(day, date) else str(day or ""), code or name]
        title = " · ".join(p for p in parts if p)
    elif record_type == "project" and (code or name):
        title = f"Project {code} {name}".replace("  ", " ").strip()
    else:
        title = f"{record_type} {external_id}".strip()  # what opsview called it before it knew better
    words = [external_id, title, number, person, code, name, client]
    if amount:
        words += [f"{amount:.2f}", f"{amount:,.2f}"]
    search_text = " | ".join(dict.fromkeys(w.strip() for w in words if w and w.strip())).lower()
    return title[:200], search_text


def time_facts(person, work_date, project_code, project_name, client):
    return {
        "person": person,
        "day": work_date,
        "project_code": project_code,
        "project_name": project_name,
        "client": client,
    }


def time_value(hours, bill_rate, billable=True):
    return (hours or Decimal(0)) * (bill_rate or Decimal(0)) if billable else Decimal(0)


# What an exception learns of a time entry or an invoice opsview knows: the fields read, and its value.
TIME_ENTRY_FIELDS = (
    "id",
    "system_id",
    "external_id",
    "hours",
    "bill_rate",
    "billable",
    "currency",
    "work_date",
    "project_id",
    "project__client_id",
    "project__code",
    "project__name",
    "person__name",
    "project__client__name",
)
INVOICE_FIELDS = (
    "id",
    "system_id",
    "external_id",
    "amount",
    "currency",
    "issue_date",
    "number",
    "project_id",
    "client_id",
    "client__name",
    "project__code",
    "project__name",
)


def time_entry_value(row):
    """The ``RecordValue`` of a time entry read as ``TIME_ENTRY_FIELDS``: its hours at its bill rate."""
    return RecordValue(
        time_value(row["hours"], row["bill_rate"], row["billable"]),
        row["currency"],
        row["work_date"],
        time_entry_id=row["id"],
        project_id=row["project_id"],
        client_id=row["project__client_id"],
        facts=time_facts(
            row["person__name"],
            row["work_date"],
            row["project__code"],
            row["project__name"],
            row["project__client__name"],
        ),
    )


def invoice_value(row):
    """The ``RecordValue`` of an invoice read as ``INVOICE_FIELDS``: its amount."""
    return RecordValue(
        row["amount"],
        row["currency"],
        row["issue_date"],
        invoice_id=row["id"],
        project_id=row["project_id"],
        client_id=row["client_id"],
        facts={
            "number": row["number"],
            "client": row["client__name"],
            "project_code": row["project__code"],
            "project_name": row["project__name"],
        },
    )


def _keyed(pairs):
    """Conditions that use the (system, external_id) unique index; a failed batch names thousands of ids."""
    return Q(system_id__in={s for s, _ in pairs}), AnyText(F("external_id"), {e for _, e in pairs})


def record_values(workspace, wanted):
    """``{(system_id, record_type, external_id): RecordValue}`` for the records in ``wanted`` that opsview knows."""
    by_type = {}
    for system_id, record_type, external_id in wanted:
        by_type.setdefault(record_type, set()).add((system_id, external_id))
    found = {}
    if by_type.get("time_entry"):
        rows = TimeEntry.objects.for_workspace(workspace).filter(*_keyed(by_type["time_entry"]))
        for row in rows.values(*TIME_ENTRY_FIELDS):
            found[(row["system_id"], "time_entry", row["external_id"])] = time_entry_value(row)
    if by_type.get("invoice"):
        rows = Invoice.objects.for_workspace(workspace).filter(*_keyed(by_type["invoice"]))
        for row in rows.values(*INVOICE_FIELDS):
            found[(row["system_id"], "invoice", row["external_id"])] = invoice_value(row)
    if by_type.get("project"):
        pairs = by_type["project"]
        rows = Project.objects.for_workspace(workspace).filter(*_keyed(pairs))
        for row in rows.values("id", "system_id", "external_id", "client_id", "code", "name", "client__name"):
            found[(row["system_id"], "project", row["external_id"])] = RecordValue(
                project_id=row["id"],
                client_id=row["client_id"],
                facts={"project_code": row["code"], "project_name": row["name"], "client": row["client__name"]},
            )
    return found


# Payload fields that name the record when opsview has not seen its state, in the words vendors use.
PAYLOAD_FACTS = {
    "number": ("number", "invoice_number", "InvoiceNumber"),
    "project_code": ("project_code", "project"),
    "client": ("client", "client_name", "customer"),
    "person": ("person", "user", "employee"),
}


# Every payload field ``value_from_payload`` reads: detection behind the response fetches only these of a
# failed event's payload (a 10 KB payload costs its worker a few dozen bytes).
PAYLOAD_FIELDS = tuple(
    dict.fromkeys(
        ("amount", "currency", "hours", "bill_rate", *(name for names in PAYLOAD_FACTS.values() for name in names))
    )
)


def _payload_facts(payload):
    facts = {}
    for fact, names in PAYLOAD_FACTS.items():
        for name in names:
            if isinstance(payload.get(name), str | int) and str(payload[name]).strip():
                facts[fact] = str(payload[name]).strip()[:200]
                break
    return facts


def value_from_payload(payload):
    """When opsview has not seen the record's state, its payload may still say what it is worth and its name."""
    if not isinstance(payload, dict):
        return RecordValue()
    currency = payload.get("currency") if isinstance(payload.get("currency"), str) else ""
    # Payloads are free-form: a number out of bounds ("1e300") is no amount, like one that is not a number.
    facts = _payload_facts(payload)
    amount = None
    if payload.get("amount") is not None:
        amount = money_or_none(payload["amount"])
    elif payload.get("hours") is not None and payload.get("bill_rate") is not None:
        hours, rate = money_or_none(payload["hours"]), money_or_none(payload["bill_rate"])
        if hours is not None and rate is not None:
            amount = money_or_none(time_value(hours, rate))
    if amount is None:
        return RecordValue(currency=currency[:3], facts=facts)
    return RecordValue(amount, currency[:3], facts=facts)


def refresh_descriptions(workspace, items, values=None):
    """Give ``items`` (exceptions of ``workspace``) the title and search text of their record as opsview
    knows it now, and link them to it where they were not yet: a record's state may arrive after its
    failure, and names change. ``values`` are the records' ``RecordValue`` when the caller has them.
    A few queries, whatever the number of items."""
    rows = list(
        items.values_list("id", "source_system_id", "record_type", "external_id", "amount", "title", "search_text")
    )
    if not rows:
        return 0
    if values is None:
        values = record_values(workspace, {(r[1], r[2], r[3]) for r in rows})
    changed = []
    for pk, system_id, record_type, external_id, amount, title, search_text in rows:
        value = values.get((system_id, record_type, external_id))
        if value is None:
            continue
        described = describe(record_type, external_id, value.facts, amount)
        if described != (title, search_text):
            changed.append((pk, *described, value.time_entry_id, value.invoice_id, value.project_id, value.client_id))
    changed.sort()
    return update_each(
        ExceptionItem,
        [
            ("title", "text"),
            ("search", "text"),
            ("te", "bigint"),
            ("inv", "bigint"),
            ("pr", "bigint"),
            ("cl", "bigint"),
        ],
        changed,
        "title = v.title, search_text = v.search, time_entry_id = COALESCE(time_entry_id, v.te), "
        "invoice_id = COALESCE(invoice_id, v.inv), project_id = COALESCE(project_id, v.pr), "
        "client_id = COALESCE(client_id, v.cl)",
    )


def resolve_automatically(workspace, items, resolved_at, note):
    """Resolve pending ``items`` whose record is fine now, audited as the system.

    ``resolved_at`` is one moment for all, or a dict of item id to moment (each record's own success).
    """
    if not items:
        return 0
    moments = resolved_at if isinstance(resolved_at, dict) else dict.fromkeys((i.pk for i in items), resolved_at)
    items = sorted(items, key=lambda i: i.pk)  # one lock order for every writer
    update_each(
        ExceptionItem,
        [("at", "datetime")],
        [(i.pk, moments[i.pk]) for i in items],
        "status = %s, resolution = %s, resolution_note = %s, resolved_at = v.at, resolved_by_id = NULL, "
        "snoozed_until = NULL",
        set_params=[Status.RESOLVED, Resolution.AUTOMATIC, note],
        condition=f"AND status IN ('{Status.OPEN}', '{Status.SNOOZED}')",
    )
    before = {i.pk: {"status": i.status} for i in items}
    after = {"status": Status.RESOLVED, "resolution": Resolution.AUTOMATIC}
    record_many(workspace, None, "exception.auto_resolve", [(i, before[i.pk], after) for i in items], note=note)
    return len(items)


def reopen_recurring(workspace, items, seen_at, note, policies):
    """Reopen resolved ``items`` whose record failed again, counting the recurrence, audited as the system.

    The SLA starts again from ``seen_at``: the recurrence is new work.
    """
    if not items:
        return 0
    by_kind = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item.pk)
    for kind, ids in by_kind.items():
        ExceptionItem.objects.filter(id__in=ids).update(
            status=Status.OPEN,
            recurrences=F("recurrences") + 1,
            last_recurred_at=seen_at,
            resolution="",
            resolution_note="",
            resolved_at=None,
            resolved_by=None,
            snoozed_until=None,
            sla_due_at=seen_at + policies[kind].sla,
        )
    changes = [
        (i, {"status": i.status, "resolution": i.resolution}, {"status": Status.OPEN, "recurrences": i.recurrences + 1})
        for i in items
    ]
    record_many(workspace, None, "exception.reopen", changes, note=note)
    return len(items)
