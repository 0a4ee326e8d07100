"""Reconciled share: the period's approved hours that reached both the ERP and an invoice (three-way)."""

from decimal import Decimal

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Sum

from opsview.kpis.expressions import hours, period_of
from opsview.records.models import TimeEntryStatus
from opsview.records.sides import IN_ERP, ON_INVOICE


def fraction(part, whole):
    """part ÷ whole as a fraction of 1, or None when there is nothing to divide."""
    return round(float(part / whole), 4) if whole else None


def held_entries(scope):
    """The period's approved time entries in ``scope``, each flagged ``in_erp`` and ``on_invoice``.

    ``in_erp``: the ERP holds the entry's hours; ``on_invoice``: billing holds its hours
    on an invoice, to the cent: more (posted twice) or less is a reconciliation gap, not reached
    (``opsview.records.sides`` says what each side holds, and keeps it on each entry as ``sides_held``).
    The one definition of which entries the reconciled share counts as reached.
    """
    entries = scope.time_entries().filter(status=TimeEntryStatus.APPROVED, work_date__range=(scope.start, scope.end))
    return entries.annotate(held=F("sides_held")).annotate(
        in_erp=ExpressionWrapper(Q(held__in=(IN_ERP, IN_ERP + ON_INVOICE)), output_field=BooleanField()),
        on_invoice=ExpressionWrapper(Q(held__in=(ON_INVOICE, IN_ERP + ON_INVOICE)), output_field=BooleanField()),
    )


def unreconciled_entries(scope):
    """The period's approved entries in ``scope`` the reconciled share does not count as reached: the ERP does
    not hold their hours, or billing does not hold a billable one's on an invoice (``held_entries``'s flags)."""
    return held_entries(scope).exclude(Q(in_erp=True), Q(on_invoice=True) | Q(billable=False))


def reconciled_share(scope):
    """Approved hours of the period that reached the ERP and an invoice ÷ approved hours of the period
    (three-way: time tracking, ERP, billing). Non-billable time needs no invoice: it is reconciled once
    the ERP holds it.

    The period's approved hours are those of time entries approved now and worked in the period. An
    entry reached the ERP when the ERP's postings carrying it hold its hours, cancelled ones left out; a
    billable entry reached an invoice when billing holds its hours on an invoice (``records.sides.holds``,
    the rule reconciliation applies too). Also the two partial shares with the hours behind them: hours
    that reached the ERP ÷ approved hours, and billable hours invoiced ÷ billable approved hours.
    """
    return reconciled_shares(scope)[0]


def reconciled_shares(*scopes):
    """``reconciled_share`` of each of ``scopes``, which differ in their (non-overlapping) periods only.

    One query over the periods' span, grouped by period: a dashboard's period and the one before it are read
    in one pass over the index of entries by status and day, which carries each entry's sides.
    """
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    # Grouped by the sides' bits, not the flags made of them: four groups at most per period.
    rows = (
        held_entries(span)
        .values("billable", "held", period=period_of("work_date", scopes))
        .annotate(entries=Count("id"), total=Sum("hours"))
        .order_by()
    )
    by_period = [[] for _ in scopes]
    for row in rows:
        if row["period"] is not None:
            by_period[row["period"]].append(row)
    return [_share(period_rows) for period_rows in by_period]


def _share(rows):
    """The reconciled share's figures from ``held_entries`` grouped by ``billable`` and ``held``."""
    tally = {name: Decimal(0) for name in ("approved", "billable", "erp", "invoiced", "reconciled")}
    entries = {"approved": 0, "reconciled": 0}
    for row in rows:
        total, billable, held = row["total"] or 0, row["billable"], row["held"]
        in_erp, on_invoice = bool(held & IN_ERP), bool(held & ON_INVOICE)
        done = in_erp and (on_invoice or not billable)
        tally["approved"] += total
        tally["billable"] += total if billable else 0
        tally["erp"] += total if in_erp else 0
        tally["invoiced"] += total if billable and on_invoice else 0
        tally["reconciled"] += total if done else 0
        entries["approved"] += row["entries"]
        entries["reconciled"] += row["entries"] if done else 0
    held = {f"{name}_hours": hours(value) for name, value in tally.items()}
    return held | {
        "entries": entries["approved"],
        "reconciled_entries": entries["reconciled"],
        "share": fraction(tally["reconciled"], tally["approved"]),
        "erp_share": fraction(tally["erp"], tally["approved"]),
        "invoiced_share": fraction(tally["invoiced"], tally["billable"]),
    }
