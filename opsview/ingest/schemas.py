"""What an integration job may send: one field list per kind of item."""

from decimal import Decimal

from opsview.common.bounds import INT32_MAX
from opsview.ingest.fields import Field
from opsview.records.models import InvoiceStatus, TimeEntryStatus
from opsview.telemetry.models import Outcome, RunStatus

ID = Field("external_id", "str", required=True, max_length=128, help="The record's id in its system.")
VERSIONING = (
    Field("version", "int", min_value=0, help="The source's version number; a higher one is newer."),
    Field("updated_at", "datetime", help="When the source last changed the record; a later one is newer."),
)

SYNC_EVENT = (
    Field("event_id", "str", required=True, max_length=128, help="Unique per event; resending it is harmless."),
    Field("run", "int", min_value=1, help="The id of the sync run this event belongs to, as returned on start."),
    Field("record_type", "slug", required=True, max_length=40, help="e.g. time_entry, invoice, project."),
    Field("external_id", "str", required=True, max_length=128, help="The record's id in the source system."),
    Field("source_system", "slug", required=True, max_length=60, help="Slug of the system the record came from."),
    Field("target_system", "slug", required=True, max_length=60, help="Slug of the system it was sent to."),
    Field("outcome", "choice", required=True, choices=tuple(Outcome.values)),
    Field("error_code", "str", max_length=80, default="", help="The target's error code, when it failed."),
    Field("error_message", "str", max_length=4000, default="", help="The target's error message, when it failed."),
    Field("payload", "object", help="The record as it was sent, for inspection and replay."),
    Field("correlation_id", "str", max_length=128, default="", help="Ties the event to the job's own logs."),
    Field("occurred_at", "datetime", required=True),
)

SYNC_RUN_START = (
    Field("flow", "slug", required=True, max_length=80, help="Which job, e.g. 'time_entries_to_billing'."),
    Field("source_system", "slug", required=True, max_length=60),
    Field("target_system", "slug", required=True, max_length=60),
    Field("external_id", "str", max_length=128, default="", help="The job's own run id, if it has one."),
    Field("started_at", "datetime", help="Defaults to now."),
    Field(
        "records_total",
        "int",
        min_value=0,
        max_value=INT32_MAX,
        help="How many records the run expects to touch, if known.",
    ),
)

COUNTERS = tuple(
    Field(name, "int", min_value=0, max_value=INT32_MAX)
    for name in ("records_total", "records_succeeded", "records_failed", "records_skipped")
)
SYNC_RUN_PROGRESS = COUNTERS + (Field("message", "str", max_length=4000),)
FINISHED = tuple(s for s in RunStatus.values if s != RunStatus.RUNNING)
SYNC_RUN_FINISH = (
    Field("status", "choice", required=True, choices=FINISHED),
    Field("finished_at", "datetime", help="Defaults to now."),
    *SYNC_RUN_PROGRESS,
)

CLIENT = (ID, *VERSIONING, Field("name", "str", required=True, max_length=200), Field("currency", "currency"))

PERSON = (
    ID,
    *VERSIONING,
    Field("name", "str", required=True, max_length=200),
    Field("email", "str", max_length=254, default=""),
    Field("weekly_capacity_hours", "decimal", min_value=Decimal(0), max_value=Decimal(168), default=Decimal(40)),
    Field("is_active", "bool", default=True),
)

PROJECT = (
    ID,
    *VERSIONING,
    Field("code", "str", max_length=60, default=""),
    Field("name", "str", required=True, max_length=200),
    Field("client", "ref", required=True, ref="client", help="External id of the project's client."),
    Field("manager", "ref", ref="person", help="External id of the person who manages the project."),
    Field("is_billable", "bool", default=True),
    Field("is_active", "bool", default=True),
)

TIME_ENTRY = (
    ID,
    *VERSIONING,
    Field("person", "ref", required=True, ref="person", help="External id of the person who did the work."),
    Field("project", "ref", required=True, ref="project", help="External id of the project."),
    Field("work_date", "date", required=True),
    Field("hours", "decimal", required=True, min_value=Decimal(0), max_value=Decimal(24)),
    Field("billable", "bool", default=True),
    Field("bill_rate", "decimal", min_value=Decimal(0), max_value=Decimal(100000), default=Decimal(0)),
    Field("currency", "currency", required=True),
    Field("status", "choice", required=True, choices=tuple(TimeEntryStatus.values)),
    Field("submitted_at", "datetime"),
    Field("approved_at", "datetime", help="Required when status is 'approved'."),
    Field("invoice_reference", "str", max_length=64, default="", help="Number of the invoice it was billed on."),
)

INVOICE = (
    ID,
    *VERSIONING,
    Field("number", "str", required=True, max_length=64),
    Field("client", "ref", required=True, ref="client", help="External id of the invoiced client."),
    Field("project", "ref", ref="project", help="External id of the project, when it bills one."),
    Field("amount", "decimal", required=True, min_value=Decimal("-1e12"), max_value=Decimal("1e12")),
    Field("currency", "currency", required=True),
    Field("status", "choice", required=True, choices=tuple(InvoiceStatus.values)),
    Field("issue_date", "date"),
    Field("due_date", "date"),
    Field("posted_at", "datetime", help="When the ERP accepted the posting."),
    Field("paid_at", "datetime"),
    Field("voided_at", "datetime"),
)

# What a target system holds for one source record: reported by the target (the token's system).
POSTING_RECORD_TYPES = ("time_entry", "invoice")
POSTING = (
    Field("external_id", "str", required=True, max_length=128, help="The posting's id in this token's system."),
    *VERSIONING,
    Field("record_type", "choice", required=True, choices=POSTING_RECORD_TYPES, help="What it carries."),
    Field(
        "source_system",
        "slug",
        required=True,
        max_length=60,
        ref="system",
        help="Slug of the system the carried record comes from, e.g. 'harvest' for a time entry.",
    ),
    Field(
        "source_external_id",
        "str",
        required=True,
        max_length=128,
        help="The carried record's id in its source system.",
    ),
    Field(
        "number",
        "str",
        max_length=64,
        default="",
        help="Invoice number: the invoice's own for an invoice (required), the invoice a time line is on.",
    ),
    Field(
        "hours",
        "decimal",
        min_value=Decimal(-1000000),
        max_value=Decimal(1000000),
        help="Hours it holds (required for a time entry); negative for a reversal.",
    ),
    Field(
        "amount",
        "decimal",
        min_value=Decimal("-1e12"),
        max_value=Decimal("1e12"),
        help="Amount it holds (required for an invoice).",
    ),
    Field("currency", "currency"),
    Field("posted_on", "date", help="The date it carries in this system."),
    Field("is_cancelled", "bool", default=False, help="Cancelled or reversed in this system."),
)
