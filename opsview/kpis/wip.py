"""Invoice-ready backlog (unbilled WIP): approved billable time that no issued invoice carries yet."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, DateField, Exists, OuterRef, Subquery, Sum, Value, When

from opsview.kpis.daily import rolled_up
from opsview.kpis.expressions import (
    BUCKETS,
    Tally,
    add_money,
    age_bucket_of_instant,
    date_range_of_bucket,
    entry_totals,
    hours,
    money,
)
from opsview.kpis.models import DailyWip
from opsview.records.models import Invoice, InvoiceStatus, TimeEntryStatus

# An invoice bills its time once it is issued; drafts have billed nothing yet and void ones no longer bill it.
ISSUED_STATUSES = (InvoiceStatus.ISSUED.value, InvoiceStatus.POSTED.value, InvoiceStatus.PAID.value)
WORST_LIMIT = 10


def issued_invoice_of(entry_client, entry_reference, by_date):
    """The invoices billing an entry by ``by_date``: its client's, numbered as it says, issued (not draft, not void)."""
    return Invoice.objects.filter(
        client=entry_client, number=entry_reference, status__in=ISSUED_STATUSES, issue_date__lte=by_date
    )


def _approved_billable_not_billed(scope, approved_by, billed_by_date):
    """The backlog's rule, for the live figure and the roll-up alike: ``scope``'s approved billable time entries
    approved by the instant ``approved_by`` that no invoice issued by ``billed_by_date`` carries."""
    entries = scope.time_entries().filter(status=TimeEntryStatus.APPROVED, billable=True, approved_at__lte=approved_by)
    billed = issued_invoice_of(OuterRef("project__client_id"), OuterRef("invoice_reference"), billed_by_date)
    return entries.exclude(Exists(billed))


def unbilled_entries(scope, age=None):
    """Approved billable time entries that no invoice issued by the as-of date carries.

    An entry's invoice is its project's client's invoice with the number the
    entry carries. Time on a draft invoice is still unbilled, and so is time
    whose invoice was voided. Entries approved and later rejected are not approved and never
    count. ``age`` narrows to one bucket of days since approval.
    """
    entries = _approved_billable_not_billed(scope, scope.as_of, scope.as_of_date)
    if age:
        earliest, latest = date_range_of_bucket(age, scope.as_of_date)
        entries = entries.filter(approved_at__lt=scope.midnight(latest + timedelta(days=1)))
        if earliest is not None:
            entries = entries.filter(approved_at__gte=scope.midnight(earliest))
    return entries


def backlog_spans(scope):
    """The invoice-ready backlog at the end of every day of the period, in one grouped query: rows of
    ``project_id``, ``currency``, ``first`` (the first day of the period whose backlog holds the entries),
    ``billed_on`` (the day an issued invoice took them out of it, None if none did by the period's end) and
    ``entry_totals``.

    The entries of a row are in the backlog of each day from ``first`` to the day before ``billed_on``: the
    rows ``unbilled_entries`` gives for a period of that day alone, each day taken as of its own end. For
    days that have ended (the daily roll-up's); later days would be taken as of their end too, not now.
    """
    days = scope.each_day()
    as_of = [scope.with_period(day, day).as_of for day in days]
    # Billed by the period's first day: in no day's backlog. Billed later: out of it from that day on (billed_on).
    entries = _approved_billable_not_billed(scope, as_of[-1], scope.start)
    # Index-friendly comparisons with each day's end, as unbilled_entries filters them, rather than a
    # local date of approved_at: an entry approved at midnight exactly belongs to the day that ended then.
    first = Case(
        *[When(approved_at__lte=instant, then=Value(day)) for day, instant in zip(days, as_of, strict=True)],
        output_field=DateField(),
    )
    billed_by_end = issued_invoice_of(OuterRef("project__client_id"), OuterRef("invoice_reference"), scope.end)
    billed_on = Subquery(billed_by_end.order_by("issue_date").values("issue_date")[:1], output_field=DateField())
    return (
        entries.annotate(first=first, billed_on=billed_on)
        .values("project_id", "currency", "first", "billed_on")
        .annotate(**entry_totals())
        .order_by()
    )


def backlog_breakdown(scope):
    """The invoice-ready backlog grouped once, by approval-age bucket, currency and project (with its client).

    The backlog's buckets and the worst clients and projects all add up these
    rows, so a page showing the three reads the backlog once.
    """
    return list(
        unbilled_entries(scope)
        .annotate(bucket=age_bucket_of_instant("approved_at", scope.as_of_date, scope.midnight))
        .values("bucket", "currency", "project_id", "project__name", "project__client_id", "project__client__name")
        .annotate(**entry_totals())
        .order_by()
    )


def invoice_ready_backlog(scope, breakdown=None):
    """Approved billable time not yet on an invoice, in hours and in money (hours × bill rate), aged by days since approval.

    Taken as of the end of the period (or now). "On an invoice" means on an
    issued invoice: time on a draft or voided invoice is still in the backlog.
    Money is per currency, never summed across currencies.
    """  # noqa: E501
    buckets = {b.code: Tally() for b in BUCKETS}
    total = Tally()
    for row in backlog_breakdown(scope) if breakdown is None else breakdown:
        buckets[row["bucket"]].add(row)
        total.add(row)
    return {
        "as_of": scope.as_of_date,
        "buckets": [{"bucket": b.code, "label": b.label, **buckets[b.code].as_dict()} for b in BUCKETS],
        "total": total.as_dict(),
    }


def invoice_ready_total(scope):
    """The invoice-ready backlog's total at the period's end: the daily roll-up's, where that day is rolled up."""
    if scope.end not in rolled_up(scope.with_period(scope.end, scope.end))["days"]:
        return invoice_ready_backlog(scope)["total"]
    rows = scope.narrow(scope.rows(DailyWip), "project__client_id", "project_id", "project__manager_id")
    total = Tally()
    for row in (
        rows.filter(day=scope.end)
        .values("currency")
        .annotate(n=Sum("entries"), sum_hours=Sum("hours"), sum_value=Sum("value"))
    ):
        total.add(row)
    return total.as_dict()


def worst_unbilled(scope, by="client", limit=WORST_LIMIT, breakdown=None):
    """The clients (or projects) holding the most unbilled value: the top ten per currency, by invoice-ready backlog.

    Ranked per currency, since amounts in different currencies are never
    compared; ties go to the lower id.
    """
    if by not in ("client", "project"):
        raise ValueError("worst_unbilled ranks clients or projects.")
    key, name = ("project__client_id", "project__client__name") if by == "client" else ("project_id", "project__name")
    totals = {}
    for row in backlog_breakdown(scope) if breakdown is None else breakdown:
        tally = totals.setdefault((row["currency"], row[key]), {"name": row[name], "tally": Tally()})
        tally["tally"].add(row)
    ranked = sorted(totals.items(), key=lambda item: (item[0][0], -item[1]["tally"].value[item[0][0]], item[0][1]))
    result, ranks = [], {}
    for (currency, ident), item in ranked:
        ranks[currency] = ranks.get(currency, 0) + 1
        if ranks[currency] <= limit:
            tally = item["tally"].as_dict()
            result.append(
                {
                    "currency": currency,
                    "rank": ranks[currency],
                    "id": ident,
                    "name": item["name"],
                    "entries": tally["entries"],
                    "hours": tally["hours"],
                    "value": tally["value"][0]["amount"],
                }
            )
    return result


def worst_unbilled_clients(scope):
    """The ten clients holding the most unbilled value per currency (invoice-ready backlog as of the period's end)."""
    return worst_unbilled(scope, by="client")


def worst_unbilled_projects(scope):
    """The ten projects holding the most unbilled value per currency (invoice-ready backlog as of the period's end)."""
    return worst_unbilled(scope, by="project")


def unbilled_wip_trend(scope):
    """Invoice-ready backlog at the end of each day of the period, in hours and money per currency, from the daily roll-up.

    A django-q2 task computes each finished day once (opsview.kpis.rollups);
    days it has not computed yet are left out, and ``computed_at`` says when the
    newest figure was taken. The system filter does not apply: the roll-up is
    kept per project.
    """  # noqa: E501
    done = rolled_up(scope)
    days = {day: {"hours": Decimal(0), "value": {}} for day in done["days"]}
    rows = scope.narrow(scope.rows(DailyWip), "project__client_id", "project_id", "project__manager_id")
    rows = rows.filter(day__range=(scope.start, scope.end))
    for row in rows.values("day", "currency").annotate(sum_hours=Sum("hours"), sum_value=Sum("value")).order_by():
        point = days.setdefault(row["day"], {"hours": Decimal(0), "value": {}})
        point["hours"] += row["sum_hours"]
        add_money(point["value"], row["currency"], row["sum_value"])
    points = [{"day": day, "hours": hours(p["hours"]), "value": money(p["value"])} for day, p in sorted(days.items())]
    return {"computed_at": done["computed_at"], "points": points}
