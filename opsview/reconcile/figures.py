"""What a reconciliation finds, as plain data: each gap with both sides, each project's balance.

The engine fills these; the services write them; a benchmark reads them. Nothing here touches the database.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

# Records approved (or invoices issued, runs finished) less than this ago may still be on their way to the
# other systems: the integration jobs run every few hours, so a day covers a normal night's backlog. They show
# as "in transit" in the totals and open no exception; the next day's run judges them.
GRACE = timedelta(hours=24)

# Hours and amounts are kept to the cent; SQLite sums decimals as floats, so "equal" is within half a cent.
TOLERANCE = Decimal("0.005")
CENT = Decimal("0.01")
ZERO = Decimal(0)


def dec(value):
    """A database number (Decimal, float from SQLite, None) as Decimal to the cent."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT)


@dataclass
class Side:
    """One system's side of a gap: how many records it holds, their hours and amount."""

    label: str
    count: int = 0
    hours: Decimal | None = None
    amount: Decimal | None = None


@dataclass
class Gap:
    cause: str
    key: str
    record_type: str  # project, invoice or sync_run: what the exception is about
    external_id: str
    title: str
    message: str
    source: Side
    target: Side
    system_id: int  # the target system, where the gap is
    source_system_id: int  # where the record came from
    record_date: date
    records: list = field(default_factory=list)  # time entry external ids, invoice numbers, run pks
    records_total: int = 0
    money_at_stake: Decimal = ZERO
    currency: str = ""
    project_id: int | None = None
    client_id: int | None = None
    invoice_id: int | None = None
    number: str = ""
    run_id: int | None = None


@dataclass
class Balance:
    """A project's approved hours and where they stand in the ERP and in billing."""

    project_id: int | None
    approved_hours: Decimal = ZERO
    billable_hours: Decimal = ZERO
    erp_hours: Decimal = ZERO
    invoiced_hours: Decimal = ZERO
    transit_hours: Decimal = ZERO
    known_hours: Decimal = ZERO
    reconciled_hours: Decimal = ZERO
    gap_count: int = 0
    money_at_stake: Decimal = ZERO
    currency: str = ""


@dataclass
class Result:
    period: object
    gaps: list = field(default_factory=list)
    projects: list = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    unreported: list = field(default_factory=list)  # sentences: a side that never reported, not compared

    @property
    def money_at_stake(self):
        return sum((g.money_at_stake for g in self.gaps), ZERO)


def project_key(cause, project_id, period):
    return f"reconciliation:{cause}:project:{project_id or 'none'}:{period.label}"


def invoice_key(cause, number, period):
    return f"reconciliation:{cause}:invoice:{number}:{period.label}"[:255]


def run_key(cause, run_id, period):
    return f"reconciliation:{cause}:run:{run_id}:{period.label}"


def period_suffix(period):
    """Every key of a period ends so: a run touches no other period's exceptions."""
    return f":{period.label}"
