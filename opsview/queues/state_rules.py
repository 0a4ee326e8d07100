"""Exceptions from business states: time unapproved past cut-off, approved time not invoiced in time,
invoices issued but not posted to the ERP.

The same evaluation runs on every ingest (for the records just upserted) and
on a django-q2 schedule (for every record: a cut-off passes without any new
report). A record in its rule's condition gets an exception; one that left it
resolves its exception by itself. Exceptions a person resolved or ignored stay
so while their condition lasts; only automatic resolutions reopen.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from opsview.queues.classify import fingerprint
from opsview.queues.models import PENDING, ExceptionGroup, ExceptionItem, Kind, Resolution, Status
from opsview.queues.policies import policies_for
from opsview.queues.rowupdates import insert_new
from opsview.queues.stakes import refresh_stakes
from opsview.queues.tracking import (
    INVOICE_FIELDS,
    TIME_ENTRY_FIELDS,
    GroupSpec,
    describe,
    ensure_groups,
    invoice_value,
    refresh_descriptions,
    reopen_recurring,
    resolve_automatically,
    state_key,
    time_entry_value,
)
from opsview.records.models import Invoice, InvoiceStatus, TimeEntry, TimeEntryStatus

CHUNK = 2000


@dataclass(frozen=True)
class Rule:
    kind: str
    model: type
    record_type: str
    error_code: str

    def condition(self, policy, now):
        days = timedelta(days=policy.threshold_days)
        today = timezone.localdate(now)
        if self.kind == Kind.UNAPPROVED_TIME:
            return Q(status__in=[TimeEntryStatus.DRAFT, TimeEntryStatus.SUBMITTED], work_date__lte=today - days)
        if self.kind == Kind.UNBILLED_TIME:
            return Q(status=TimeEntryStatus.APPROVED, billable=True, invoice_reference="", approved_at__lte=now - days)
        return Q(status=InvoiceStatus.ISSUED, issue_date__lte=today - days)

    def began(self, policy, row, now):
        """When ``row`` (read as the rule's fields) first met the condition: the instant its limit passed.

        A backfill opens exceptions for conditions that began long before it ran; they are seen from then,
        so a dashboard's "new exceptions" shows when the data went wrong, not when the backfill ran.
        """
        days = timedelta(days=policy.threshold_days)
        if self.kind == Kind.UNBILLED_TIME:
            began = row["approved_at"] + days if row["approved_at"] else now
        else:
            day = row["work_date"] if self.kind == Kind.UNAPPROVED_TIME else row["issue_date"]
            began = timezone.make_aware(datetime.combine(day + days, time.min)) if day else now
        return min(began, now)


RULES = (
    Rule(Kind.UNAPPROVED_TIME, TimeEntry, "time_entry", "UNAPPROVED_PAST_CUTOFF"),
    Rule(Kind.UNBILLED_TIME, TimeEntry, "time_entry", "APPROVED_NOT_INVOICED"),
    Rule(Kind.UNPOSTED_INVOICE, Invoice, "invoice", "ISSUED_NOT_POSTED"),
)
RULES_BY_MODEL = {TimeEntry: RULES[:2], Invoice: RULES[2:]}

# The rules also read a time entry's status; an invoice's is in its rule's filter.
TIME_FIELDS = (*TIME_ENTRY_FIELDS, "status", "approved_at")


def on_states(workspace, model, system, external_ids):
    """Evaluate the state rules for records just upserted: every rule of the model in a few queries."""
    rules = RULES_BY_MODEL.get(model, ())
    if not rules or not external_ids:
        return
    now = timezone.now()
    policies = policies_for(workspace)
    fields = TIME_FIELDS if model is TimeEntry else INVOICE_FIELDS
    # Each rule's condition, as defined once in Rule.condition, becomes a flag on each record.
    flags = {
        f"in_{rule.kind}": ExpressionWrapper(rule.condition(policies[rule.kind], now), output_field=BooleanField())
        for rule in rules
    }
    records = model.objects.for_workspace(workspace).filter(system=system, external_id__in=list(external_ids))
    rows = list(records.annotate(**flags).values(*fields, *flags))
    by_rule = {
        rule: {state_key(rule.kind, r["system_id"], rule.record_type, r["external_id"]): r for r in rows}
        for rule in rules
    }
    existing = _existing(workspace, [key for keyed in by_rule.values() for key in keyed])
    cleared = [
        existing[key]
        for rule, keyed in by_rule.items()
        for key, row in keyed.items()
        if not row[f"in_{rule.kind}"] and key in existing and existing[key].status in PENDING
    ]
    resolve_automatically(workspace, cleared, now, "Its condition cleared in the source system.")
    wanted = [(rule, {k: r for k, r in keyed.items() if r[f"in_{rule.kind}"]}) for rule, keyed in by_rule.items()]
    _open(workspace, wanted, policies, now, existing)
    # The records' names may be new or changed: every exception of theirs (sync failures too) is found by them.
    of_records = ExceptionItem.objects.for_workspace(workspace).filter(
        record_type=rules[0].record_type, source_system=system, external_id__in=list(external_ids)
    )
    known = {(system.pk, rules[0].record_type, r["external_id"]): _value(rules[0], r) for r in rows}
    refresh_descriptions(workspace, of_records, known)
    refresh_stakes(workspace.pk, {(system.pk, rules[0].record_type, external_id) for external_id in external_ids})


def scan_workspace(workspace, now=None, backfill=False):
    """Evaluate every rule on every record of the workspace; what the schedule runs.

    ``backfill``: the records were stored before the queues looked at them, so each exception opened is
    first seen when its record met the rule (``Rule.began``), not now.
    """
    for rule in RULES:
        evaluate(workspace, rule, now=now, backfill=backfill)


def evaluate(workspace, rule, now=None, backfill=False):
    """One rule over the whole workspace: open what is in its condition, resolve what left it."""
    now = now or timezone.now()
    policies = policies_for(workspace)
    records = rule.model.objects.for_workspace(workspace)
    fields = TIME_FIELDS if rule.model is TimeEntry else INVOICE_FIELDS
    in_condition = list(records.filter(rule.condition(policies[rule.kind], now)).values(*fields))
    keys = {state_key(rule.kind, r["system_id"], rule.record_type, r["external_id"]): r for r in in_condition}

    pending = ExceptionItem.objects.for_workspace(workspace).pending().filter(kind=rule.kind)
    fields = ("id", "key", "status", "source_system_id", "record_type", "external_id")
    cleared = [item for item in pending.only(*fields) if item.key not in keys]
    resolve_automatically(workspace, cleared, now, "Its condition cleared in the source system.")
    refresh_stakes(workspace.pk, {item.record_ref for item in cleared})

    for start in range(0, len(in_condition), CHUNK):
        chunk = dict(list(keys.items())[start : start + CHUNK])
        opened = _open(workspace, [(rule, chunk)], policies, now, _existing(workspace, list(chunk)), backfill)
        refresh_stakes(workspace.pk, opened)


def _existing(workspace, keys):
    if not keys:
        return {}
    return {
        x.key: x
        for x in ExceptionItem.objects.for_workspace(workspace)
        .filter(key__in=keys)
        .only(
            "id", "key", "status", "resolution", "recurrences", "kind", "source_system_id", "record_type", "external_id"
        )
    }


def _open(workspace, wanted, policies, now, existing, backfill=False):
    """Open exceptions for the ``(rule, rows by key)`` in ``wanted`` that have none; reopen automatic ones.
    Returns the records of the exceptions opened or reopened."""
    specs, group_of = {}, {}
    for rule, rows_by_key in wanted:
        for key, row in rows_by_key.items():
            if key not in existing:
                spec = _spec(rule, row)
                specs.setdefault(spec.fingerprint, spec)
                group_of[key] = spec.fingerprint
    groups = ensure_groups(workspace, specs, now)
    new = [
        _item(
            workspace,
            rule,
            key,
            row,
            groups[group_of[key]],
            now,
            rule.began(policies[rule.kind], row, now) if backfill else now,
            policies[rule.kind].sla,
        )
        for rule, rows_by_key in wanted
        for key, row in rows_by_key.items()
        if key not in existing
    ]
    new.sort(key=lambda item: item.key)  # one lock order for concurrent writers
    insert_new(ExceptionItem, new)
    if backfill:
        _seen_since_the_earliest(groups.values(), new)
    back = [existing[key] for _, rows_by_key in wanted for key in rows_by_key if _resolved_by_itself(existing.get(key))]
    reopen_recurring(workspace, back, now, "Its condition came back.", policies)
    return {item.record_ref for item in (*new, *back)}


def _seen_since_the_earliest(groups, items):
    """A backfilled group is first seen when its earliest new exception was, not when the backfill ran."""
    earliest = {}
    for item in items:
        earliest[item.group_id] = min(item.first_seen_at, earliest.get(item.group_id, item.first_seen_at))
    for group in groups:
        if group.id in earliest and earliest[group.id] < group.first_seen_at:
            ExceptionGroup.objects.filter(id=group.id, first_seen_at__gt=earliest[group.id]).update(
                first_seen_at=earliest[group.id]
            )


def _resolved_by_itself(item):
    return item is not None and item.status == Status.RESOLVED and item.resolution == Resolution.AUTOMATIC


def _spec(rule, row):
    if rule.model is TimeEntry:
        cause, label = row["project_id"], f"{row['project__code']} {row['project__name']}".strip()
        message = {
            Kind.UNAPPROVED_TIME: f"Time on project {label} is unapproved past the cut-off",
            Kind.UNBILLED_TIME: f"Approved time on project {label} is not invoiced within the limit",
        }[rule.kind]
    else:
        cause, label = row["client_id"], row["client__name"]
        message = f"Invoices to {label} are issued but not posted to the ERP"
    fp = fingerprint(row["system_id"], rule.record_type, rule.error_code, message, cause=str(cause))
    return GroupSpec(fp, rule.kind, row["system_id"], rule.record_type, rule.error_code, message)


def _value(rule, row):
    """What an exception learns from a row of ``TIME_FIELDS`` or ``INVOICE_FIELDS``."""
    return time_entry_value(row) if rule.model is TimeEntry else invoice_value(row)


def _item(workspace, rule, key, row, group, now, first_seen, sla):
    """A new exception for ``row``: its SLA runs from ``now``, when the team can first know of it."""
    value = _value(rule, row)
    amount = value.amount
    if rule.model is TimeEntry:
        record_date = row["work_date"]
        links = {"time_entry_id": row["id"], "project_id": row["project_id"], "client_id": row["project__client_id"]}
        message = f"{row['hours']} h on {row['work_date']:%Y-%m-%d}, status {row['status']}"
    else:
        record_date = row["issue_date"] or timezone.localdate(now)
        links = {"invoice_id": row["id"], "project_id": row["project_id"], "client_id": row["client_id"]}
        message = f"Invoice {row['number']} issued {record_date:%Y-%m-%d}, not posted"
    title, search_text = describe(rule.record_type, row["external_id"], value.facts, amount)
    return ExceptionItem(
        workspace=workspace,
        key=key,
        group=group,
        kind=rule.kind,
        system_id=row["system_id"],
        source_system_id=row["system_id"],
        record_type=rule.record_type,
        external_id=row["external_id"],
        error_code=rule.error_code,
        error_message=message,
        amount=amount,
        currency=row["currency"],
        title=title,
        search_text=search_text,
        record_date=record_date,
        first_seen_at=first_seen,
        last_seen_at=now,
        sla_due_at=now + sla,
        **links,
    )
