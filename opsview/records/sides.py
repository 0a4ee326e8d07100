"""Where a time entry or invoice stands in each target system, defined once.

Reconciliation (per record and per project) and the reconciled-share KPI both read a
record's side in the ERP and in billing from here: the hours or amount of the target's
postings that carry it, cancelled ones left out.
"""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from opsview.records.models import Posting
from opsview.systems.models import SystemKind

# Hours and amounts are kept to the cent; SQLite sums decimals as floats, so "equal" is within half a cent.
TOLERANCE = Decimal("0.005")

HOURS = DecimalField(max_digits=12, decimal_places=2)
MONEY = DecimalField(max_digits=16, decimal_places=2)


def postings_in(system_kind, record_type):
    """Live postings of ``record_type`` held by systems of ``system_kind`` (SystemKind.ERP or BILLING)."""
    return Posting.objects.filter(record_type=record_type, system__kind=system_kind, is_cancelled=False)


def _carried_sum(system_kind, record_type, field, extra=None, output=HOURS):
    carried = (
        postings_in(system_kind, record_type)
        .filter(extra or Q(), workspace=OuterRef("workspace"), source_system=OuterRef("system"))
        .filter(source_external_id=OuterRef("external_id"))
        .order_by()
        .values("source_external_id")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Subquery(carried, output_field=output)


def erp_hours():
    """Annotation for TimeEntry querysets: hours the ERP holds for the entry; None when it holds none."""
    return _carried_sum(SystemKind.ERP, "time_entry", "hours")


def invoiced_hours():
    """Annotation for TimeEntry querysets: hours billing holds for the entry on an invoice; None when none."""
    return _carried_sum(SystemKind.BILLING, "time_entry", "hours", ~Q(number=""))


def erp_amount():
    """Annotation for Invoice querysets: the amount the ERP holds for the invoice's number; None when none."""
    carried = (
        postings_in(SystemKind.ERP, "invoice")
        .filter(workspace=OuterRef("workspace"), number=OuterRef("number"))
        .order_by()
        .values("number")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(carried, output_field=MONEY)


def holds(held, hours):
    """Condition: a side that holds ``held`` hours agrees with an entry of ``hours`` (both field names).

    The one rule of "reconciled": an approved entry is reconciled when its ERP side holds its hours and,
    if billable, billing holds them on an invoice. Holding more (posted twice) or less is a gap, not reached.
    """
    return Q(**{f"{held}__gt": F(hours) - TOLERANCE, f"{held}__lt": F(hours) + TOLERANCE})


def reached(hours_expression):
    """Hours an entry's side holds, 0 when it holds none: for sums over many entries."""
    return Coalesce(hours_expression, Value(Decimal(0)), output_field=HOURS)
