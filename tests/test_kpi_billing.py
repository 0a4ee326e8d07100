"""Billing lag, time to post and DSO, against hand-worked answers."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from opsview.kpis.billing import billed_entries, billing_lag, billing_lags, dso, posted_time, time_to_post
from opsview.kpis.models import DailyBillingLag
from opsview.kpis.percentiles import percentile_of_counts
from opsview.kpis.rollups import rollup_days, rollup_missing_days
from opsview.records.models import TimeEntry
from tests.kpi_books import Books, at

NOW = "2026-12-05 12:00"


@pytest.fixture
def lag_books(db):
    books = Books()
    books.invoice("INV-9", 100, "issued", issued="2026-10-28")  # before the period
    books.invoice("INV-10", 300, "issued", issued="2026-11-10")
    books.invoice("INV-11", 300, "paid", issued="2026-11-20", paid_at="2026-11-30 10:00")
    books.invoice("INV-12", 100, "draft")
    books.invoice("INV-13", 100, "void", issued="2026-11-05")
    for work_date in ("2026-11-10", "2026-11-03", "2026-11-02"):  # 0, 7 and 8 days
        books.entry(work_date, 1, approved_at="2026-11-10 08:00", invoice="INV-10")
    for work_date in ("2026-10-21", "2026-10-20", "2026-09-20"):  # 30, 31 and 61 days
        books.entry(work_date, 1, approved_at="2026-11-01 08:00", invoice="INV-11", project=books.a1)
    books.entry("2026-11-01", 1, approved_at="2026-11-02 08:00", invoice="INV-12")  # draft: not invoiced
    books.entry("2026-11-01", 1, approved_at="2026-11-02 08:00", invoice="INV-13")  # void: not invoiced
    books.entry("2026-10-01", 1, approved_at="2026-10-02 08:00", invoice="INV-9")  # invoiced before the period
    books.entry("2026-11-01", 9, "rejected", approved_at="2026-11-02 08:00", invoice="INV-10")  # approved, rejected
    return books


def test_billing_lag_median_p90_and_distribution(lag_books):
    result = billing_lag(lag_books.scope("2026-11-01", "2026-11-30", NOW))
    # Lags 0, 7, 8, 30, 31, 61: the median lies halfway between 8 and 30, the 90th percentile halfway 31 to 61.
    assert (result["entries"], result["hours"]) == (6, D("6.00"))
    assert (result["median_days"], result["p90_days"]) == (19.0, 46.0)
    assert [(b["bucket"], b["entries"]) for b in result["buckets"]] == [
        ("0-7", 2),
        ("8-14", 1),
        ("15-30", 1),
        ("31-60", 1),
        ("over-60", 1),
    ]


def test_billing_lag_of_a_period_and_the_one_before_read_together(lag_books):
    # The executive board reads both periods in one pass; each must match its own billing lag.
    october, november = (
        lag_books.scope("2026-10-01", "2026-10-31", NOW),
        lag_books.scope("2026-11-01", "2026-11-30", NOW),
    )
    now, before = billing_lags(november, october)
    assert now == billing_lag(november)
    assert (now["entries"], now["median_days"], now["p90_days"]) == (6, 19.0, 46.0)
    assert before == billing_lag(october)
    assert (before["entries"], before["median_days"]) == (1, 27.0)  # INV-9, issued 28 October for 1 October


def test_billing_lag_drill_down_rows(lag_books):
    scope = lag_books.scope("2026-11-01", "2026-11-30", NOW)
    assert sorted(billed_entries(scope, lag="0-7").values_list("lag_days", flat=True)) == [0, 7]
    assert list(billed_entries(scope, lag="over-60").values_list("lag_days", flat=True)) == [61]


def test_billing_lag_with_no_invoices(db):
    result = billing_lag(Books().scope("2026-11-01", "2026-11-30", NOW))
    assert result["entries"] == 0
    assert result["median_days"] is None and result["p90_days"] is None
    assert [b["entries"] for b in result["buckets"]] == [0, 0, 0, 0, 0]


def test_billing_lag_of_one_project(lag_books):
    lag_books.invoice("INV-20", 100, "issued", issued="2026-11-15", project=lag_books.b1)
    lag_books.entry("2026-11-01", 1, approved_at="2026-11-02 08:00", invoice="INV-20", project=lag_books.b1)
    result = billing_lag(lag_books.scope("2026-11-01", "2026-11-30", NOW, project=lag_books.b1.pk))
    assert (result["entries"], result["median_days"], result["p90_days"]) == (1, 14.0, 14.0)


@pytest.fixture
def posting_books(db):
    books = Books()

    def posted(approved_at, *events, status="approved"):
        entry = books.entry("2026-11-01", 1, status, approved_at=approved_at)
        for outcome, occurred_at, target in events:
            books.event(outcome, occurred_at, target=target or books.tryton, external_id=entry.external_id)

    posted("2026-11-02 09:00", ("succeeded", "2026-11-02 21:00", None))  # half a day
    posted("2026-11-03 00:00", ("failed", "2026-11-03 06:00", None), ("succeeded", "2026-11-05 00:00", None))  # 2
    posted("2026-11-04 00:00", ("succeeded", "2026-11-05 00:00", None), ("succeeded", "2026-11-10 00:00", None))  # 1
    posted("2026-10-31 00:00", ("succeeded", "2026-11-04 00:00", None))  # 4 days, posted in the period
    posted("2026-11-05 00:00", ("succeeded", "2026-11-05 06:00", books.xero))  # to billing, not the ERP
    posted("2026-11-01 00:00", ("succeeded", "2026-11-01 12:00", None), status="rejected")  # approved, rejected
    posted("2026-10-30 00:00", ("succeeded", "2026-10-31 00:00", None))  # posted before the period
    return books


def roll_up(books, first, last):
    """The days from ``first`` to ``last`` rolled up together, as the task rolls up the days it finds missing."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    rollup_days(books.workspace, days, now=at(NOW))


def test_billing_lag_reads_rolled_up_days_and_counts_the_others_live(lag_books):
    lag_books.entry("2026-11-12", 1, approved_at="2026-11-12 18:00", invoice="INV-10")  # worked after the invoice
    november = lag_books.scope("2026-11-01", "2026-11-30", NOW)
    live = billing_lag(november)
    assert [(b["bucket"], b["entries"]) for b in live["buckets"]][0] == ("0-7", 3)  # −2 days counts as 0–7
    roll_up(lag_books, "2026-11-01", "2026-11-15")  # INV-10 (10 November) rolled up, INV-11 (20th) still live
    assert sorted(DailyBillingLag.objects.values_list("day", "lag_days", "entries")) == [
        (date(2026, 11, 10), -2, 1),
        (date(2026, 11, 10), 0, 1),
        (date(2026, 11, 10), 7, 1),
        (date(2026, 11, 10), 8, 1),
    ]
    assert billing_lag(november) == live
    roll_up(lag_books, "2026-11-16", "2026-11-30")
    assert billing_lag(november) == live
    # A rolled-up day is read as it was rolled up: the daily roll-up is what makes the page fast at scale.
    TimeEntry.objects.filter(invoice_reference="INV-10").update(invoice_reference="")
    assert billing_lag(november)["entries"] == 7


def test_percentile_of_counted_values_interpolates_as_postgresql_does():
    # The values 1, 1, 5, 10: the median lies halfway from 1 to 5, the 90th percentile 70% of the way from 5 to 10.
    counts = {10: 1, 1: 2, 5: 1}
    assert (percentile_of_counts(counts, 0.5), percentile_of_counts(counts, 0.9)) == (3.0, 8.5)
    assert percentile_of_counts({7: 3}, 0.9) == 7.0
    assert percentile_of_counts({}, 0.5) is None


def test_time_to_post_counts_first_erp_postings_of_approved_time(posting_books):
    scope = posting_books.scope("2026-11-01", "2026-11-30", NOW)
    assert posted_time(scope).count() == 4
    roll_up(posting_books, "2026-10-25", "2026-11-30")
    # 0.5, 1, 2 and 4 days: the median is 1.5; the 90th percentile lies 70% of the way from 2 to 4.
    assert time_to_post(scope) == {"entries": 4, "median_days": 1.5, "p90_days": 3.4, "computed_at": at(NOW)}
    # The roll-up keeps the same postings the live definition finds.
    live = sorted(round(d, 4) for d in posted_time(scope).values_list("days", flat=True))
    assert live == [0.5, 1.0, 2.0, 4.0]


def test_time_to_post_counts_only_rolled_up_days_and_approved_time(posting_books):
    roll_up(posting_books, "2026-11-01", "2026-11-03")  # postings of 2 November only
    scope = posting_books.scope("2026-11-01", "2026-11-30", NOW)
    assert time_to_post(scope)["entries"] == 1
    TimeEntry.objects.filter(approved_at=at("2026-11-02 09:00")).update(status="rejected")
    rollup_missing_days(days=3, workspaces=[posting_books.workspace], now=at("2026-11-04 12:00"))  # nothing missing
    assert time_to_post(scope)["entries"] == 0


def test_time_to_post_with_no_postings(db):
    assert time_to_post(Books().scope("2026-11-01", "2026-11-30", NOW)) == {
        "entries": 0,
        "median_days": None,
        "p90_days": None,
        "computed_at": None,
    }


@pytest.fixture
def receivable_books(db):
    books = Books()
    books.invoice("A", 1000, "issued", issued="2026-10-15")  # unpaid from before: receivable only
    books.invoice("B", 3000, "paid", issued="2026-11-05", paid_at="2026-11-20 10:00")
    books.invoice("C", 2000, "paid", issued="2026-11-25", paid_at="2026-12-03 10:00")  # paid after the period
    books.invoice("F", 1000, "paid", issued="2026-11-28", paid_at="2026-11-30 23:30")
    books.invoice("D", 500, "void", issued="2026-11-10")
    books.invoice("E", 700, "draft")
    books.invoice("G", 400, "posted", issued="2026-11-10", project=books.g1)
    books.invoice("H", 250, "issued", issued="2026-09-01", currency="GBP")
    return books


def test_dso_per_currency(receivable_books):
    result = dso(receivable_books.scope("2026-11-01", "2026-11-30", NOW))
    # EUR: receivable A + C = 3,000 of 6,000 billed over 30 days: 15 days. USD: all of it unpaid: 30 days.
    assert result == [
        {
            "currency": "EUR",
            "receivables": D("3000.00"),
            "billed": D("6000.00"),
            "days_in_period": 30,
            "dso_days": 15.0,
        },
        {"currency": "GBP", "receivables": D("250.00"), "billed": D("0.00"), "days_in_period": 30, "dso_days": None},
        {"currency": "USD", "receivables": D("400.00"), "billed": D("400.00"), "days_in_period": 30, "dso_days": 30.0},
    ]


def test_dso_month_end_in_berlin(db):
    books = Books(time_zone="Europe/Berlin")
    books.invoice("B", 3000, "paid", issued="2026-11-05", paid_at="2026-11-20 10:00")
    books.invoice("F", 1000, "paid", issued="2026-11-28", paid_at="2026-11-30 23:30")  # 1 December in Berlin
    result = dso(books.scope("2026-11-01", "2026-11-30", NOW))
    assert result[0]["receivables"] == D("1000.00")
    assert result[0]["dso_days"] == 7.5


def test_dso_with_no_invoices(db):
    assert dso(Books().scope("2026-11-01", "2026-11-30", NOW)) == []
