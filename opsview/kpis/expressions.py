"""SQL building blocks shared by the KPIs: age buckets, day differences, money per currency.

Every expression here runs in the database on PostgreSQL and SQLite alike.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    FloatField,
    Func,
    IntegerField,
    Sum,
    Value,
    When,
)

HUNDREDTH = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=4)


@dataclass(frozen=True)
class Bucket:
    code: str
    label: str
    low: int
    high: int | None  # None: no upper end


# Days since the work date (aging), since approval (backlog) or from work to invoice (billing lag).
BUCKETS = (
    Bucket("0-7", "0–7 days", 0, 7),
    Bucket("8-14", "8–14 days", 8, 14),
    Bucket("15-30", "15–30 days", 15, 30),
    Bucket("31-60", "31–60 days", 31, 60),
    Bucket("over-60", "over 60 days", 61, None),
)
BUCKETS_BY_CODE = {b.code: b for b in BUCKETS}


def bucket(code):
    """The bucket named ``code``; ValueError if there is none."""
    try:
        return BUCKETS_BY_CODE[code]
    except KeyError:
        raise ValueError(f"Unknown age bucket '{code}'; one of {', '.join(BUCKETS_BY_CODE)}.") from None


def age_bucket_of_date(field, as_of_date):
    """The bucket of ``as_of_date − field`` for a date field, as comparisons with constant dates (index-friendly)."""
    whens = [When(**{f"{field}__gte": as_of_date - timedelta(days=b.high)}, then=Value(b.code)) for b in BUCKETS[:-1]]
    return Case(*whens, default=Value(BUCKETS[-1].code), output_field=CharField())


def age_bucket_of_instant(field, as_of_date, midnight):
    """The bucket of the local calendar days from a datetime field to ``as_of_date``."""
    whens = [
        When(**{f"{field}__gte": midnight(as_of_date - timedelta(days=b.high))}, then=Value(b.code))
        for b in BUCKETS[:-1]
    ]
    return Case(*whens, default=Value(BUCKETS[-1].code), output_field=CharField())


def date_range_of_bucket(code, as_of_date):
    """``(earliest, latest)`` dates whose age at ``as_of_date`` falls in bucket ``code``; earliest None is open."""
    b = bucket(code)
    earliest = None if b.high is None else as_of_date - timedelta(days=b.high)
    return earliest, as_of_date - timedelta(days=b.low)


class DaysBetween(Func):
    """Whole days from the date ``earlier`` to the date ``later`` (dates, not datetimes)."""

    output_field = IntegerField()

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "CAST(julianday(%(expressions)s) AS INTEGER)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


class ElapsedDays(Func):
    """Days, with fractions, from the instant ``earlier`` to the instant ``later``."""

    output_field = FloatField()

    def __init__(self, later, earlier, **extra):
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra):
        template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "(julianday(%(expressions)s))"
        return super().as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


def period_of(field, scopes):
    """Annotation: the index in ``scopes`` of the period whose days hold the date ``field``, None for none.

    For KPIs that read several periods (a dashboard's and the one before) in one query and split the rows.
    """
    whens = [When(**{f"{field}__range": (s.start, s.end)}, then=Value(i)) for i, s in enumerate(scopes)]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def entry_value():
    """Money a time entry is worth: hours × bill rate when billable, else nothing."""
    return Case(When(billable=True, then=F("hours") * F("bill_rate")), default=Value(Decimal(0)), output_field=MONEY)


def hours(value):
    """A sum of hours as shown, to the hundredth; no rows is zero hours."""
    return (value or Decimal(0)).quantize(HUNDREDTH)


def cents(amount):
    """An amount of money to the cent; no rows is zero."""
    return Decimal(amount or 0).quantize(HUNDREDTH)


def money(amounts):
    """``{currency: amount}`` as a list sorted by currency, amounts to the cent. Never summed across currencies."""
    return [{"currency": currency, "amount": cents(amount)} for currency, amount in sorted(amounts.items())]


def add_money(totals, currency, amount):
    """Add ``amount`` to ``totals[currency]`` in place; returns ``totals``."""
    totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount or 0)
    return totals


def rounded(value, places=1):
    """A figure for a tile or the API, rounded to ``places``; None (no data) stays None."""
    return None if value is None else round(float(value), places)


def entry_totals():
    """Aggregates of time entries: ``n`` entries, ``sum_hours`` and ``sum_value`` (see ``entry_value``)."""
    return {"n": Count("id"), "sum_hours": Sum("hours"), "sum_value": Sum(entry_value())}


class Tally:
    """Adds up rows of ``entry_totals`` grouped by currency: entries, hours, and money per currency."""

    def __init__(self):
        self.entries, self.hours, self.value = 0, Decimal(0), {}

    def add(self, row):
        self.entries += row["n"]
        self.hours += row["sum_hours"] or 0
        add_money(self.value, row["currency"], row["sum_value"])

    def as_dict(self):
        return {"entries": self.entries, "hours": hours(self.hours), "value": money(self.value)}
