"""From approved time to money: billing lag, time to post, DSO."""

from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Sum,
)

from opsview.kpis.daily import rolled_up, rolled_up_each
from opsview.kpis.expressions import BUCKETS, DaysBetween, ElapsedDays, bucket, cents, hours, period_of, rounded
from opsview.kpis.models import DailyBillingLag, PostingTime
from opsview.kpis.percentiles import percentile_of_counts, percentiles_of_each
from opsview.kpis.wip import ISSUED_STATUSES
from opsview.records.models import Invoice, InvoiceStatus, TimeEntryStatus
from opsview.systems.models import SystemKind
from opsview.telemetry.models import Outcome, SyncEvent

TIME_ENTRY_RECORD = "time_entry"


def billed_entries(scope, lag=None, issued_on=None):
    """Approved time entries on an invoice issued in the period, each with ``lag_days`` (issue date − work date).

    An entry's invoice is the issued invoice (not draft, not void) of its
    project's client whose number the entry carries. An entry approved and later
    rejected is not billed time. ``lag`` narrows to one bucket of lag days,
    ``issued_on`` to invoices issued on those days of the period.
    """
    issued = {"status__in": ISSUED_STATUSES, "issue_date__range": (scope.start, scope.end)}
    if issued_on is not None:
        issued["issue_date__in"] = issued_on
    invoice = FilteredRelation(
        "project__client__invoices",
        condition=Q(project__client__invoices__number=F("invoice_reference"))
        & Q(**{f"project__client__invoices__{lookup}": value for lookup, value in issued.items()}),
    )
    # Implied by the join below; it lets PostgreSQL start from the few invoices of the days asked
    # for and find their entries by number, instead of joining every billed entry of the workspace.
    numbers = Invoice.objects.for_workspace(scope.workspace).filter(**issued).values("number")
    entries = (
        scope.time_entries()
        .filter(status=TimeEntryStatus.APPROVED, invoice_reference__in=numbers)
        .exclude(invoice_reference="")
        .annotate(invoice=invoice)
        .filter(invoice__isnull=False)
        .annotate(lag_days=DaysBetween(F("invoice__issue_date"), F("work_date")))
    )
    return entries.filter(lag_bucket(lag)) if lag else entries


def lag_bounds(code):
    """The lag days bucket ``code`` holds, ``(lowest, highest)``, None where open; the first takes negative lags too."""
    b = bucket(code)
    return (b.low if b.low > 0 else None), b.high


def lag_bucket(code):
    """Rows whose ``lag_days`` fall in bucket ``code``."""
    low, high = lag_bounds(code)
    condition = Q()
    if low is not None:
        condition &= Q(lag_days__gte=low)
    if high is not None:
        condition &= Q(lag_days__lte=high)
    return condition


def in_lag_bucket(days, code):
    """Whether ``days`` of lag fall in bucket ``code``: ``lag_bucket`` for counts already read."""
    low, high = lag_bounds(code)
    return (low is None or days >= low) and (high is None or days <= high)


def billing_lag(scope):
    """For invoiced time, days from work date to invoice date; median and 90th percentile.

    Counts each approved time entry on an invoice issued in the period (not
    draft, not void) once; the distribution buckets its days as 0–7, 8–14,
    15–30, 31–60 and over 60. Days already rolled up are read from the daily
    roll-up, the others (today, at least) are counted live: the figures are the
    same either way.
    """
    return billing_lags(scope)[0]


def billing_lags(*scopes):
    """``billing_lag`` of each of ``scopes``, which differ in their (non-overlapping) periods only.

    The database counts entries by period and lag days, from the daily roll-up
    for days it holds and live for the rest; the median, 90th percentile and
    buckets are read off those counts. A dashboard's period and the one before
    it are read together: one query of the roll-up, one live.
    """
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    rolled = span.narrow(
        span.rows(DailyBillingLag), "project__client_id", "project_id", "project__manager_id", "system_id"
    )
    counted = list(
        rolled.filter(day__range=(span.start, span.end))
        .values(period=period_of("day", scopes), days=F("lag_days"))
        .annotate(n=Sum("entries"), h=Sum("hours"))
        .order_by()
    )
    done = rolled_up(span)["days"]
    missing = [day for day in span.each_day() if day not in done]
    if missing:
        counted += (
            billed_entries(span, issued_on=missing if done else None)
            .values(period=period_of("invoice__issue_date", scopes), days=F("lag_days"))
            .annotate(n=Count("id"), h=Sum("hours"))
            .order_by()
        )
    tallies = [{} for _ in scopes]
    for row in counted:
        if row["period"] is not None:
            n, h = tallies[row["period"]].get(row["days"], (0, Decimal(0)))
            tallies[row["period"]][row["days"]] = (n + row["n"], h + row["h"])
    return [_lag_figures(t) for t in tallies]


def _lag_figures(tally):
    """Billing lag figures from ``{lag days: (entries, hours)}``."""
    buckets = []
    for b in BUCKETS:
        inside = [(n, h) for days, (n, h) in tally.items() if in_lag_bucket(days, b.code)]
        buckets.append(
            {
                "bucket": b.code,
                "label": b.label,
                "entries": sum(n for n, _ in inside),
                "hours": hours(sum((h for _, h in inside), Decimal(0))),
            }
        )
    entries = {days: n for days, (n, _) in tally.items()}
    return {
        "entries": sum(b["entries"] for b in buckets),
        "hours": hours(sum((b["hours"] for b in buckets), Decimal(0))),
        "median_days": rounded(percentile_of_counts(entries, 0.5)),
        "p90_days": rounded(percentile_of_counts(entries, 0.9)),
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
        workspace=OuterRef("workspace"),
        record_type=TIME_ENTRY_RECORD,
        external_id=OuterRef("external_id"),
        source_system=OuterRef("source_system"),
        target_system=OuterRef("target_system"),
        outcome=Outcome.SUCCEEDED,
        occurred_at__lt=OuterRef("occurred_at"),
    )
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
        .annotate(entry_id=Subquery(entry.order_by().values("pk")[:1]))
        .filter(entry_id__isnull=False)
        .annotate(approved_at=Subquery(entry.order_by().values("approved_at")[:1]))
        .annotate(days=ElapsedDays(F("occurred_at"), F("approved_at")))
    )


def time_to_post(scope):
    """Days from approval to successful ERP posting; median and 90th percentile.

    For each approved time entry whose first successful posting to an ERP
    system happened in the period; days include fractions (12 hours is 0.5).
    Read from the daily roll-up of ``posted_time``: a day's postings count once
    the day is over and rolled up, and entries no longer approved leave it at
    the next roll-up; ``computed_at`` says when the newest was taken.
    """
    return time_to_posts(scope)[0]


def time_to_posts(*scopes):
    """``time_to_post`` of each of ``scopes``, which differ in their periods only: the roll-up's postings of every
    period in one query (on PostgreSQL), and the days rolled up in one more."""
    span = scopes[0].with_period(min(s.start for s in scopes), max(s.end for s in scopes))
    postings = span.narrow(
        span.rows(PostingTime), "project__client_id", "project_id", "project__manager_id", "system_id"
    ).filter(posted_at__gte=span.start_at, posted_at__lt=span.end_at)
    in_periods = [Q(posted_at__gte=scope.start_at, posted_at__lt=scope.end_at) for scope in scopes]
    figures = percentiles_of_each(postings, F("days"), in_periods, also={"entries": Count("id")})
    computed = rolled_up_each(*scopes)
    return [
        {
            "entries": counted["entries"],
            "median_days": rounded(stats[0.5]),
            "p90_days": rounded(stats[0.9]),
            "computed_at": done["computed_at"],
        }
        for (stats, counted), done in zip(figures, computed, strict=True)
    ]


def dso(scope):
    """Receivables ÷ billed revenue over the period × days in the period, per currency.

    Receivables are issued invoices unpaid at the end of the period; billed
    revenue is the amount of invoices issued in the period. Draft and void
    invoices count in neither. None where nothing was billed.
    """
    return dsos(scope)[0]


def dsos(*scopes):
    """``dso`` of each of ``scopes``, which differ in their periods only: every period's receivables and billed
    revenue per currency in one query."""
    latest = max(s.end for s in scopes)
    issued = scopes[0].invoices().filter(status__in=ISSUED_STATUSES, issue_date__lte=latest)
    sums = {}
    for i, scope in enumerate(scopes):
        unpaid = Q(paid_at__gte=scope.end_at) | Q(paid_at__isnull=True) & ~Q(status=InvoiceStatus.PAID)
        by_end = Q(issue_date__lte=scope.end)
        sums[f"receivables{i}"] = Sum("amount", filter=by_end & unpaid, default=Decimal(0))
        sums[f"billed{i}"] = Sum("amount", filter=by_end & Q(issue_date__gte=scope.start), default=Decimal(0))
    rows = list(issued.values("currency").annotate(**sums).order_by("currency"))
    results = []
    for i, scope in enumerate(scopes):
        result = []
        for row in rows:
            receivables, billed = row[f"receivables{i}"], row[f"billed{i}"]
            if not receivables and not billed:
                continue
            days = None if not billed else rounded(receivables / billed * scope.days)
            result.append(
                {
                    "currency": row["currency"],
                    "receivables": cents(receivables),
                    "billed": cents(billed),
                    "days_in_period": scope.days,
                    "dso_days": days,
                }
            )
        results.append(result)
    return results
