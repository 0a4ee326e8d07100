"""Exceptions from business states: time unapproved past cut-off, approved time not invoiced in time,
invoices issued but not posted to the ERP.

The same evaluation runs on every ingest (for the records just upserted) and
on a django-q2 schedule (for every record: a cut-off passes without any new
report). A record in its rule's condition gets an exception; one that left it
resolves its exception by itself. Exceptions a person resolved or ignored stay
so while their condition lasts; only automatic resolutions reopen.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from opsview.queues.classify import fingerprint
from opsview.queues.models import PENDING, ExceptionItem, Kind, Resolution, Status
from opsview.queues.policies import policies_for
from opsview.queues.tracking import GroupSpec, ensure_groups, reopen_recurring, resolve_automatically, state_key
from opsview.queues.tracking import time_value as value_of_time
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


RULES = (
    Rule(Kind.UNAPPROVED_TIME, TimeEntry, "time_entry", "UNAPPROVED_PAST_CUTOFF"),
    Rule(Kind.UNBILLED_TIME, TimeEntry, "time_entry", "APPROVED_NOT_INVOICED"),
    Rule(Kind.UNPOSTED_INVOICE, Invoice, "invoice", "ISSUED_NOT_POSTED"),
)
RULES_BY_MODEL = {TimeEntry: RULES[:2], Invoice: RULES[2:]}

TIME_FIELDS = ("id", "system_id", "external_id", "hours", "bill_rate", "billable", "currency", "work_date",
               "status", "project_id", "project__client_id", "project__code", "project__name")  # fmt: skip
INVOICE_FIELDS = ("id", "system_id", "external_id", "amount", "currency", "issue_date", "number", "project_id",
                  "client_id", "client__name")  # fmt: skip


def on_states(workspace, model, system, external_ids):
    """Evaluate the state rules for records just upserted; other record types have none."""
    for rule in RULES_BY_MODEL.get(model, ()):
        evaluate(workspace, rule, scope=Q(system=system, external_id__in=list(external_ids)))


def scan_workspace(workspace, now=None):
    """Evaluate every rule on every record of the workspace; what the schedule runs."""
    for rule in RULES:
        evaluate(workspace, rule, now=now)


def evaluate(workspace, rule, scope=None, now=None):
    now = now or timezone.now()
    policies = policies_for(workspace)
    policy = policies[rule.kind]
    records = rule.model.objects.for_workspace(workspace)
    if scope is not None:
        records = records.filter(scope)
    fields = TIME_FIELDS if rule.model is TimeEntry else INVOICE_FIELDS
    in_condition = list(records.filter(rule.condition(policy, now)).values(*fields))
    keys = {state_key(rule.kind, r["system_id"], rule.record_type, r["external_id"]): r for r in in_condition}

    pending = ExceptionItem.objects.for_workspace(workspace).filter(kind=rule.kind, status__in=PENDING)
    if scope is not None:
        pending = pending.filter(**{f"{rule.record_type}__in": records.values("id")})
    cleared = [item for item in pending.only("id", "key", "status", "record_type", "external_id")
               if item.key not in keys]  # fmt: skip
    resolve_automatically(workspace, cleared, now, "Its condition cleared in the source system.")

    for start in range(0, len(in_condition), CHUNK):
        chunk = dict(list(keys.items())[start : start + CHUNK])
        _open(workspace, rule, policies, chunk, now)


def _open(workspace, rule, policies, rows_by_key, now):
    existing = {
        x.key: x
        for x in ExceptionItem.objects.for_workspace(workspace)
        .filter(key__in=list(rows_by_key))
        .only("id", "key", "status", "resolution", "recurrences", "kind", "record_type", "external_id")
    }
    specs, group_of = {}, {}
    for key, row in rows_by_key.items():
        if key in existing:
            continue
        spec = _spec(rule, row)
        specs.setdefault(spec.fingerprint, spec)
        group_of[key] = spec.fingerprint
    groups = ensure_groups(workspace, specs, now)
    sla_due = now + policies[rule.kind].sla
    new = [_item(workspace, rule, key, row, groups[group_of[key]], now, sla_due)
           for key, row in rows_by_key.items() if key not in existing]  # fmt: skip
    ExceptionItem.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    back = [x for x in existing.values() if x.status == Status.RESOLVED and x.resolution == Resolution.AUTOMATIC]
    reopen_recurring(workspace, back, now, "Its condition came back.", policies)


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


def _item(workspace, rule, key, row, group, now, sla_due):
    if rule.model is TimeEntry:
        amount, record_date = value_of_time(row["hours"], row["bill_rate"], row["billable"]), row["work_date"]
        links = {"time_entry_id": row["id"], "project_id": row["project_id"], "client_id": row["project__client_id"]}
        message = f"{row['hours']} h on {row['work_date']:%Y-%m-%d}, status {row['status']}"
    else:
        amount, record_date = row["amount"], row["issue_date"] or timezone.localdate(now)
        links = {"invoice_id": row["id"], "project_id": row["project_id"], "client_id": row["client_id"]}
        message = f"Invoice {row['number']} issued {record_date:%Y-%m-%d}, not posted"
    return ExceptionItem(
        workspace=workspace, key=key, group=group, kind=rule.kind, system_id=row["system_id"],
        source_system_id=row["system_id"], record_type=rule.record_type, external_id=row["external_id"],
        error_code=rule.error_code, error_message=message, amount=amount, currency=row["currency"],
        record_date=record_date, first_seen_at=now, last_seen_at=now, sla_due_at=sla_due, **links,
    )  # fmt: skip
