"""Unapproved time aging, invoice-ready backlog, worst clients and utilization, against hand-worked answers."""

from decimal import Decimal as D

import pytest

from opsview.kpis.approval import unapproved_by_person, unapproved_entries, unapproved_time_aging
from opsview.kpis.capacity import utilization, weekdays
from opsview.kpis.wip import invoice_ready_backlog, unbilled_entries, worst_unbilled
from tests.kpi_books import Books, day

NOW = "2026-11-20 12:00"


def eur(amount):
    return {"currency": "EUR", "amount": D(amount)}


def usd(amount):
    return {"currency": "USD", "amount": D(amount)}


def summary(result):
    return {b["bucket"]: (b["entries"], b["hours"], b["value"]) for b in result["buckets"]}


@pytest.fixture
def aging_books(db):
    books = Books()
    books.entry("2026-11-18", 3, "draft")  # 2 days
    books.entry("2026-11-13", 2, "submitted")  # 7 days: still the first bucket
    books.entry("2026-11-19", 1, "submitted", billable=False)  # hours count, value does not
    books.entry("2026-11-12", 4, "submitted")  # 8 days
    books.entry("2026-10-21", "1.5", "submitted")  # 30 days
    books.entry("2026-10-20", 1, "draft")  # 31 days
    books.entry("2026-09-01", 2, "submitted", project=books.g1, rate="200")  # 80 days, USD
    books.entry("2026-11-10", 5, "rejected", approved_at="2026-11-11 09:00")  # approved, then rejected
    books.entry("2026-11-10", 6, "approved", approved_at="2026-11-11 09:00")
    books.entry("2026-11-25", 1, "draft")  # dated after the as-of day
    return books


def test_aging_buckets_hours_and_value_per_currency(aging_books):
    result = unapproved_time_aging(aging_books.scope("2026-11-01", "2026-11-20", NOW))

    assert result["as_of"] == day("2026-11-20")
    assert summary(result) == {
        "0-7": (3, D("6.00"), [eur("500.00")]),
        "8-14": (1, D("4.00"), [eur("400.00")]),
        "15-30": (1, D("1.50"), [eur("150.00")]),
        "31-60": (1, D("1.00"), [eur("100.00")]),
        "over-60": (1, D("2.00"), [usd("400.00")]),
    }
    assert result["total"] == {"entries": 7, "hours": D("14.50"), "value": [eur("1150.00"), usd("400.00")]}
    first = result["buckets"][0]["by_state"]
    assert first["draft"]["hours"] == D("3.00")
    assert first["submitted"] == {"entries": 2, "hours": D("3.00"), "value": [eur("200.00")]}


def test_aging_as_of_a_past_day_counts_time_approved_after_it(aging_books):
    result = unapproved_time_aging(aging_books.scope("2026-11-01", "2026-11-10", NOW))

    # On 10 November: the 6 h approved on the 11th were waiting (age 0); the rejected entry never counts.
    assert result["as_of"] == day("2026-11-10")
    assert summary(result) == {
        "0-7": (1, D("6.00"), [eur("600.00")]),
        "8-14": (0, D("0.00"), []),
        "15-30": (2, D("2.50"), [eur("250.00")]),
        "31-60": (0, D("0.00"), []),
        "over-60": (1, D("2.00"), [usd("400.00")]),
    }
    assert result["buckets"][0]["by_state"] == {
        "approved_since": {"entries": 1, "hours": D("6.00"), "value": [eur("600.00")]}
    }


def test_aging_with_no_data(db):
    result = unapproved_time_aging(Books().scope("2026-11-01", "2026-11-20", NOW))
    assert result["total"] == {"entries": 0, "hours": D("0.00"), "value": []}
    assert [b["entries"] for b in result["buckets"]] == [0, 0, 0, 0, 0]


def test_aging_days_count_in_the_workspace_time_zone(db):
    books = Books(time_zone="Europe/Berlin")
    books.entry("2026-11-14", 1, "submitted")
    books.entry("2026-11-13", 2, "submitted")
    # 23:30 UTC on the 20th is already the 21st in Berlin: 7 and 8 days old there, 6 and 7 in UTC.
    result = unapproved_time_aging(books.scope("2026-11-01", "2026-11-30", "2026-11-20 23:30"))
    assert result["as_of"] == day("2026-11-21")
    assert summary(result)["0-7"][:2] == (1, D("1.00"))
    assert summary(result)["8-14"][:2] == (1, D("2.00"))


def test_month_end_in_berlin_decides_what_was_still_waiting(db):
    books = Books(time_zone="Europe/Berlin")
    # Approved 00:30 on 1 November in Berlin (23:30 UTC on 31 October): still waiting at October's end.
    books.entry("2026-10-30", 3, "approved", approved_at="2026-10-31 23:30")
    books.entry("2026-10-30", 1, "approved", approved_at="2026-10-31 22:30")  # 23:30 in Berlin: approved in time
    october = unapproved_time_aging(books.scope("2026-10-01", "2026-10-31", NOW))
    assert october["total"]["hours"] == D("3.00")


def test_drill_down_rows_are_the_rows_behind_each_bar(aging_books):
    scope = aging_books.scope("2026-11-01", "2026-11-20", NOW)
    result = unapproved_time_aging(scope)
    for b in result["buckets"]:
        assert unapproved_entries(scope, age=b["bucket"]).count() == b["entries"]
    assert unapproved_entries(scope, age="0-7", state="draft").count() == 1
    assert unapproved_entries(scope, age="0-7", state="submitted").count() == 2


def test_unapproved_by_person_names_who_to_chase(aging_books):
    aging_books.entry("2026-11-16", 2, "submitted", person=aging_books.quinn)
    rows = unapproved_by_person(aging_books.scope("2026-11-01", "2026-11-20", NOW, project=aging_books.a1.pk))
    assert [(r["person"], r["entries"], r["hours"], r["age_days"]) for r in rows] == [
        ("Pia", 6, D("12.50"), 31),
        ("Quinn", 1, D("2.00"), 4),
    ]


@pytest.fixture
def wip_books(db):
    books = Books()
    books.invoice("INV-1", 400, "issued", issued="2026-10-15")
    books.invoice("INV-DRAFT", 300, "draft")
    books.invoice("INV-VOID", 100, "void", issued="2026-11-02")
    books.entry("2026-11-18", 2, approved_at="2026-11-19 10:00")  # 1 day since approval
    books.entry("2026-11-20", 1, approved_at="2026-11-20 11:00")  # today
    books.entry("2026-11-10", 3, approved_at="2026-11-12 10:00", invoice="INV-DRAFT")  # 8 days, draft: unbilled
    books.entry("2026-10-30", 1, approved_at="2026-11-01 10:00", invoice="INV-VOID")  # 19 days, voided: unbilled
    books.entry("2026-09-30", 4, approved_at="2026-10-01 10:00", invoice="INV-1")  # billed
    books.entry("2026-09-30", 2, approved_at="2026-10-02 10:00")  # same month, left off INV-1: 49 days
    books.entry("2026-08-31", 1, approved_at="2026-09-01 10:00", project=books.g1, rate="200")  # 80 days, USD
    books.entry("2026-11-16", 5, approved_at="2026-11-18 10:00", project=books.b1)  # Initech, 2 days
    books.entry("2026-11-16", 5, approved_at="2026-11-17 10:00", billable=False)
    books.entry("2026-11-16", 8, "rejected", approved_at="2026-11-17 10:00")  # approved, then rejected
    books.entry("2026-11-16", 1, "submitted")
    return books


def test_backlog_counts_draft_and_void_invoices_and_partial_invoicing(wip_books):
    result = invoice_ready_backlog(wip_books.scope("2026-11-01", "2026-11-20", NOW))
    assert summary(result) == {
        "0-7": (3, D("8.00"), [eur("800.00")]),
        "8-14": (1, D("3.00"), [eur("300.00")]),
        "15-30": (1, D("1.00"), [eur("100.00")]),
        "31-60": (1, D("2.00"), [eur("200.00")]),
        "over-60": (1, D("1.00"), [usd("200.00")]),
    }
    assert result["total"] == {"entries": 7, "hours": D("15.00"), "value": [eur("1400.00"), usd("200.00")]}


def test_backlog_as_of_past_days(wip_books):
    # 10 October: INV-1 not issued yet, so its 4 h were still unbilled.
    early = invoice_ready_backlog(wip_books.scope("2026-10-01", "2026-10-10", NOW))
    assert early["total"] == {"entries": 3, "hours": D("7.00"), "value": [eur("600.00"), usd("200.00")]}
    assert summary(early)["8-14"][:2] == (2, D("6.00"))
    # 20 October: INV-1 was issued on the 15th.
    later = invoice_ready_backlog(wip_books.scope("2026-10-01", "2026-10-20", NOW))
    assert later["total"] == {"entries": 2, "hours": D("3.00"), "value": [eur("200.00"), usd("200.00")]}


def test_backlog_drill_down_by_approval_age(wip_books):
    scope = wip_books.scope("2026-11-01", "2026-11-20", NOW)
    for b in invoice_ready_backlog(scope)["buckets"]:
        assert unbilled_entries(scope, age=b["bucket"]).count() == b["entries"]


def test_worst_clients_and_projects_ranked_per_currency(wip_books):
    scope = wip_books.scope("2026-11-01", "2026-11-20", NOW)
    clients = worst_unbilled(scope, by="client")
    assert [(r["currency"], r["rank"], r["name"], r["hours"], r["value"]) for r in clients] == [
        ("EUR", 1, "Acme", D("9.00"), D("900.00")),
        ("EUR", 2, "Initech", D("5.00"), D("500.00")),
        ("USD", 1, "Globex", D("1.00"), D("200.00")),
    ]
    top = worst_unbilled(scope, by="project", limit=1)
    assert [(r["currency"], r["name"]) for r in top] == [("EUR", "Acme rollout"), ("USD", "Globex support")]


def test_weekdays():
    assert weekdays(day("2026-11-02"), day("2026-11-15")) == 10
    assert weekdays(day("2026-11-07"), day("2026-11-08")) == 0
    assert weekdays(day("2026-11-06"), day("2026-11-09")) == 2


@pytest.fixture
def work_books(db):
    books = Books()
    books.entry("2026-11-03", 30, project=books.a1, person=books.pia, approved_at="2026-11-04 10:00")
    books.entry("2026-11-04", 5, project=books.a1, person=books.pia, billable=False, approved_at="2026-11-05 10:00")
    books.entry("2026-11-05", 20, "submitted", project=books.b1, person=books.quinn)
    books.entry("2026-11-06", 4, "rejected", project=books.b1, person=books.quinn)
    books.entry("2026-11-16", 8, project=books.b1, person=books.quinn)  # after the period
    return books


def test_utilization_of_the_active_people(work_books):
    result = utilization(work_books.scope("2026-11-02", "2026-11-15", NOW))
    # Mara 40 + Pia 40 + Quinn 32 + Ida 40 a week (Gus has left), 10 weekdays: 304 h of capacity.
    assert result == {
        "billable_hours": D("50.00"),
        "recorded_hours": D("55.00"),
        "capacity_hours": D("304.00"),
        "people": 4,
        "weekdays": 10,
        "rate": 0.1645,
    }


def test_utilization_narrowed_to_a_project_counts_its_people(work_books):
    result = utilization(work_books.scope("2026-11-02", "2026-11-15", NOW, project=work_books.b1.pk))
    assert (result["billable_hours"], result["capacity_hours"], result["rate"]) == (D("20.00"), D("64.00"), 0.3125)


def test_utilization_with_no_people(db):
    books = Books()
    for person in (books.mara, books.pia, books.quinn, books.ida):
        person.is_active = False
        person.save()
    assert utilization(books.scope("2026-11-02", "2026-11-15", NOW))["rate"] is None
