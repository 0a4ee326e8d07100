"""Where a time entry or invoice stands in each target system, defined once.

Reconciliation (per record and per project) and the reconciled-share KPI both read a
record's side in the ERP and in billing from here: the hours or amount of the target's
postings that carry it, cancelled ones left out.

The reconciled share reads each time entry's sides as stored on it (``TimeEntry.sides_held``): a year's
period holds tens of thousands of approved entries, and looking up each one's postings was most of the
executive dashboard's time. ``refresh_sides_held`` stores what ``sides_holding`` computes; every write of
an entry's hours or of the postings carrying it calls it for the entries concerned: the ingest API,
replays (a posting saved one at a time, ``opsview.records.signals``), the demo, and a system whose kind
changes or that is deleted.
"""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan

from opsview.records.models import Posting, TimeEntry
from opsview.systems.models import System, SystemKind

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
    """Condition: a side that holds ``held`` hours agrees with an entry of ``hours`` (each a field name or an
    expression, such as ``OuterRef("hours")``): they differ by less than the tolerance.

    The one rule of "reconciled": an approved entry is reconciled when its ERP side holds its hours and,
    if billable, billing holds them on an invoice. Holding more (posted twice) or less is a gap, not reached.
    """
    held, hours = (F(x) if isinstance(x, str) else x for x in (held, hours))
    # One difference, compared twice: in a grouped subquery an outer reference may only stand on its own.
    difference = ExpressionWrapper(held - hours, output_field=HOURS)
    return Q(GreaterThan(difference, -TOLERANCE)) & Q(LessThan(difference, TOLERANCE))


def reached(hours_expression):
    """Hours an entry's side holds, 0 when it holds none: for sums over many entries."""
    return Coalesce(hours_expression, Value(Decimal(0)), output_field=HOURS)


IN_ERP, ON_INVOICE = 1, 2


class _Total(Func):
    """SUM over all the rows of a subquery, left ungrouped: the subquery answers one row, also when it finds
    none (a NULL sum). An aggregate would make Django group it, and an outer reference cannot be grouped."""

    function = "SUM"


def sides_holding():
    """Annotation for TimeEntry querysets: which sides hold the entry's hours by ``holds``, as bits: ``IN_ERP``
    (the ERP), ``ON_INVOICE`` (billing, on an invoice); 0 for neither.

    One look-up of the entry's postings answers both sides. ``refresh_sides_held`` stores it on the entry,
    where the reconciled share reads it. A side with no posting holds 0 hours.
    """

    def carried(condition):
        held = _Total(Case(When(condition, then=F("hours")), output_field=HOURS), output_field=HOURS)
        return Coalesce(held, Value(Decimal(0)), output_field=HOURS)

    # Systems by kind as a set the database hashes once, not a join in every look-up.
    of_kind = {kind: System.objects.filter(kind=kind).values("pk") for kind in (SystemKind.ERP, SystemKind.BILLING)}
    erp = carried(Q(system__in=of_kind[SystemKind.ERP]))
    invoiced = carried(Q(system__in=of_kind[SystemKind.BILLING]) & ~Q(number=""))
    entry_hours = OuterRef("hours")
    bits = Case(When(holds(erp, entry_hours), then=Value(IN_ERP)), default=Value(0)) + Case(
        When(holds(invoiced, entry_hours), then=Value(ON_INVOICE)), default=Value(0)
    )
    postings = (
        Posting.objects.filter(record_type="time_entry", is_cancelled=False)
        .filter(workspace=OuterRef("workspace"), source_system=OuterRef("system"))
        .filter(source_external_id=OuterRef("external_id"))
        .order_by()
        .annotate(bits=bits)
        .values("bits")
    )
    return Subquery(postings, output_field=IntegerField())


REFRESHED_AT_ONCE = 500  # entries named in one UPDATE: keeps the statement's list of ids short


def refresh_sides_held(entries):
    """Store on each of ``entries`` (a TimeEntry queryset) which sides hold its hours now, as ``sides_holding``
    says: ``TimeEntry.sides_held``, what the reconciled share reads. Returns the number of entries."""
    return entries.order_by().update(sides_held=Coalesce(sides_holding(), Value(0)))


def refresh_entries_carried(workspace_id, carried):
    """``refresh_sides_held`` for the time entries of ``workspace_id`` named by ``carried``: pairs of the source
    system's id and the entry's id there, as postings name the entry they carry. Entries not stored are
    skipped: a posting may arrive before its entry, which is refreshed when it comes."""
    by_system = defaultdict(set)
    for system_id, external_id in carried:
        by_system[system_id].add(external_id)
    refreshed = 0
    with transaction.atomic(savepoint=False):
        for system_id, external_ids in sorted(by_system.items()):
            ids = sorted(external_ids)
            for start in range(0, len(ids), REFRESHED_AT_ONCE):
                chunk = ids[start : start + REFRESHED_AT_ONCE]
                entries = TimeEntry.objects.filter(
                    workspace_id=workspace_id, system_id=system_id, external_id__in=chunk
                )
                # Another writer may be storing postings of the same entries (the ERP's export and billing's at
                # once): wait for it to commit, so that the look-up reads what both wrote. An UPDATE that waited
                # instead would compute the sides from before the other's commit.
                list(entries.select_for_update().order_by("pk").values_list("pk", flat=True))
                refreshed += refresh_sides_held(entries)
    return refreshed


def carried_by(postings):
    """The entries ``postings`` (Posting objects) carry, as ``refresh_entries_carried`` takes them."""
    return {(p.source_system_id, p.source_external_id) for p in postings if p.record_type == "time_entry"}


def sides_out_of_date(entries):
    """The entries of ``entries`` whose stored ``sides_held`` is not what their postings hold now: none, as long
    as every writer of entries and postings refreshes what it changed."""
    return entries.annotate(live=Coalesce(sides_holding(), Value(0))).exclude(sides_held=F("live"))
