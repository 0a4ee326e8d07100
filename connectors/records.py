"""What connectors return: plain records that map 1:1 onto opsview's ingest schemas.

Each record's fields, less ``raw``, carry the names of the matching ingest schema
(``opsview.ingest.schemas``: CLIENT, PERSON, PROJECT, TIME_ENTRY, INVOICE); ``as_ingest()`` gives the
JSON-ready item the ingest API accepts. ``raw`` keeps the source system's own record,
for inspection and replay. This module knows nothing of Django.
"""

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

TIME_ENTRY_STATUSES = ("draft", "submitted", "approved", "rejected")
INVOICE_STATUSES = ("draft", "issued", "posted", "paid", "void")
CENTS = Decimal("0.01")


def money(value) -> Decimal:
    """Round a number (int, float, str or Decimal) to two decimal places, half up."""
    return Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP)


def hours_from_seconds(seconds) -> Decimal:
    """Hours, to two decimal places, of a duration given in seconds."""
    return money(Decimal(str(seconds)) / 3600)


def utc(moment: datetime | None) -> datetime | None:
    """The moment as an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 date-time (``Z`` accepted) into an aware UTC datetime; None stays None."""
    if not value:
        return None
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _json_value(value):
    if isinstance(value, datetime):
        return utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class _Record:
    """Shared behaviour of the record dataclasses."""

    def as_ingest(self) -> dict:
        """The record as a JSON-ready item for opsview's ingest API; unset optional fields are left out."""
        item = {}
        for f in fields(self):
            if f.name == "raw":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            item[f.name] = _json_value(value)
        return item


@dataclass(frozen=True)
class ClientRecord(_Record):
    """A client (customer, party, contact) that projects and invoices belong to."""

    external_id: str
    name: str
    currency: str | None = None
    version: int | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PersonRecord(_Record):
    """A person who records time: a user or employee of the source system."""

    external_id: str
    name: str
    email: str = ""
    weekly_capacity_hours: Decimal | None = None
    is_active: bool = True
    version: int | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ProjectRecord(_Record):
    """A project as a time-tracking, billing or ERP system knows it."""

    external_id: str
    name: str
    client: str
    code: str = ""
    manager: str | None = None
    is_billable: bool = True
    is_active: bool = True
    version: int | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class TimeEntryRecord(_Record):
    """Time one person spent on one project on one day, with its approval state."""

    external_id: str
    person: str
    project: str
    work_date: date
    hours: Decimal
    currency: str
    status: str
    billable: bool = True
    bill_rate: Decimal = Decimal(0)
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    invoice_reference: str = ""
    version: int | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.status not in TIME_ENTRY_STATUSES:
            raise ValueError(f"time entry status must be one of {TIME_ENTRY_STATUSES}, not {self.status!r}")


@dataclass(frozen=True)
class InvoiceRecord(_Record):
    """An invoice with its status in the system that holds it."""

    external_id: str
    number: str
    client: str
    amount: Decimal
    currency: str
    status: str
    project: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    posted_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    version: int | None = None
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.status not in INVOICE_STATUSES:
            raise ValueError(f"invoice status must be one of {INVOICE_STATUSES}, not {self.status!r}")


@dataclass(frozen=True)
class Page:
    """One page of a fetch: its records and the cursor to pass to the next call.

    ``has_more`` is true while the current scan has further pages; once it is false,
    ``next_cursor`` is where the next poll (e.g. the next scheduled run) starts.
    Store ``next_cursor`` after each page has been ingested, so a crash resumes there.
    """

    records: list
    next_cursor: str
    has_more: bool = False


@dataclass(frozen=True)
class SendResult:
    """The outcome of sending one record to its target system.

    ``ok`` says the target accepted it; ``verified`` that reading it back showed the
    expected state. A failure carries the target's own ``error_code`` and
    ``error_message``; ``retryable`` says whether sending again later may succeed
    without a change (rate limits, outages) rather than needing a fix first.
    """

    ok: bool
    external_id: str = ""
    error_code: str = ""
    error_message: str = ""
    verified: bool = False
    retryable: bool = False
    detail: dict = field(default_factory=dict)

    @classmethod
    def failure(cls, error_code: str, error_message: str, *, retryable=False, external_id="", detail=None):
        """A failed send with the target's error code and message."""
        return cls(False, external_id, error_code, error_message, False, retryable, detail or {})
