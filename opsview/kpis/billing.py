"""From approved time to money: billing lag, time to post, DSO."""

from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum

from opsview.kpis.expressions import BUCKETS, DaysBetween, ElapsedDays, bucket, bucket_of_days, cents, hours, rounded
from opsview.kpis.percentiles import percentiles
from opsview.kpis.wip import ISSUED_STATUSES
from opsview.records.models import Invoice, InvoiceStatus, TimeEntryStatus
from opsview.telemetry.models import Outcome, SyncEvent
from opsview.workspaces.models import SystemKind

TIME_ENTRY_RECORD = "time_entry"


def billed_entries(scope, lag=None):
    """Approved time entries on an invoice issued in the period, each with ``lag_days`` (issue date − work date).

    Invoices count when issued (not draft, not void); an entry approved and
    later rejected is not billed time. ``lag`` narrows to one bucket of lag days.
    """
    issued = Invoice.objects.filter(
        workspace=OuterRef("workspace"), status__in=ISSUED_STATUSES, issue_date__range=(scope.start, scope.end)
    )
    entries = (
        scope.time_entries()
        .filter(status=TimeEntryStatus.APPROVED, invoice_reference__in=issued.values("number"))
        .annotate(issue_date=Subquery(issued.filter(number=OuterRef("invoice_reference")).values("issue_date")[:1]))
        .annotate(lag_days=DaysBetween(F("issue_date"), F("work_date")))
    )
    if lag:
        b = bucket(lag)
        entries = entries.filter(lag_days__lte=b.high) if b.high is not None else entries
        entries = entries.filter(lag_days__gte=b.low) if b.low > 0 else entries
    return entries


def billing_lag(scope):
    """For invoiced time, days from work date to invoice date; median and 90th percentile.

    Counts each approved time entry on an invoice issued in the period (not
    draft, not void) once; the distribution buckets its days as 0–7, 8–14,
    15–30, 31–60 and over 60.
    """
    entries = billed_entries(scope)
    stats = percentiles(entries, F("lag_days"))
    distribution = {
        row["bucket"]: row
        for row in entries.annotate(bucket=bucket_of_days("lag_days"))
        .values("bucket")
        .annotate(entries=Count("id"), sum_hours=Sum("hours"))
        .order_by()
    }
    buckets = [
        {
            "bucket": b.code,
            "label": b.label,
            "entries": distribution.get(b.code, {}).get("entries", 0),
            "hours": hours(distribution.get(b.code, {}).get("sum_hours")),
        }
        for b in BUCKETS
    ]
    return {
        "entries": sum(b["entries"] for b in buckets),
        "hours": hours(sum((b["hours"] for b in buckets), Decimal(0))),
        "median_days": rounded(stats[0.5]),
        "p90_days": rounded(stats[0.9]),
        "buckets": buckets,
    }


def posted_time(scope):
    """First successful ERP postings of approved time entries in the period, each with ``days`` since approval.

    A posting is a succeeded sync event of a time entry to an ERP system; later
    re-sends of the same entry do not count again.
    """
    entry = scope.time_entries().filter(
        status=TimeEntryStatus.APPROVED, system=OuterRef("source_system"), external_id=OuterRef("external_id")
    )
    earlier = SyncEvent.objects.filter(
        workspace=OuterRef("workspace"), record_type=TIME_ENTRY_RECORD, external_id=OuterRef("external_id"),
        source_system=OuterRef("source_system"), target_system=OuterRef("target_system"),
        outcome=Outcome.SUCCEEDED, occurred_at__lt=OuterRef("occurred_at"),
    )  # fmt: skip
    return (
        scope.sync_events()
        .filter(
            record_type=TIME_ENTRY_RECORD,
            outcome=Outcome.SUCCEEDED,
            target_system__kind=SystemKind.ERP,
            occurred_at__gte=scope.start_at,
            occurred_at__lt=scope.end_at,
        )
        .exclude(Exists(earlier))
        .annotate(approved_at=Subquery(entry.values("approved_at")[:1]))
        .filter(approved_at__isnull=False)
        .annotate(days=ElapsedDays(F("occurred_at"), F("approved_at")))
    )


def time_to_post(scope):
    """Days from approval to successful ERP posting; median and 90th percentile.

    For each approved time entry whose first successful posting to an ERP
    system happened in the period; days include fractions (12 hours is 0.5).
    """
    postings = posted_time(scope)
    stats = percentiles(postings, F("days"))
    return {
        "entries": postings.count(),
        "median_days": rounded(stats[0.5]),
        "p90_days": rounded(stats[0.9]),
    }


def dso(scope):
    """Receivables ÷ billed revenue over the period × days in the period, per currency.

    Receivables are issued invoices unpaid at the end of the period; billed
    revenue is the amount of invoices issued in the period. Draft and void
    invoices count in neither. None where nothing was billed.
    """
    issued = scope.invoices().filter(status__in=ISSUED_STATUSES, issue_date__lte=scope.end)
    unpaid = Q(paid_at__gte=scope.end_at) | Q(paid_at__isnull=True) & ~Q(status=InvoiceStatus.PAID)
    rows = (
        issued.values("currency")
        .annotate(
            receivables=Sum("amount", filter=unpaid, default=Decimal(0)),
            billed=Sum("amount", filter=Q(issue_date__gte=scope.start), default=Decimal(0)),
        )
        .order_by("currency")
    )
    result = []
    for row in rows:
        if not row["receivables"] and not row["billed"]:
            continue
        days = None if not row["billed"] else rounded(row["receivables"] / row["billed"] * scope.days)
        result.append(
            {
                "currency": row["currency"],
                "receivables": cents(row["receivables"]),
                "billed": cents(row["billed"]),
                "days_in_period": scope.days,
                "dso_days": days,
            }
        )
    return result
