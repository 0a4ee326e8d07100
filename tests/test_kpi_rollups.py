"""Daily roll-ups: a run of days computed together gives exactly the rows of each day computed alone."""

from datetime import timedelta

import pytest

from opsview.kpis.models import DailyBillingLag, DailySync, DailyWip, FirstArrival, PostingTime, RollupDay
from opsview.kpis.rollups import rollup_day, rollup_days, rollup_missing_days
from opsview.kpis.scope import Scope
from opsview.kpis.wip import invoice_ready_backlog, invoice_ready_total
from tests.kpi_books import Books, at, day

NOW = at("2026-11-20 12:00")  # 20 November is not over yet, in either firm
DAYS = [day("2026-11-01") + timedelta(days=n) for n in range(20)]  # 1 to 20 November
ROLLED_UP = (DailyWip, DailySync, DailyBillingLag, FirstArrival, PostingTime)


def fill(books):
    """Time approved, billed and posted on various days, with events of both outcomes; 12 November has nothing."""
    entries = [
        books.entry("2026-10-20", 2, approved_at="2026-10-25 10:00", invoice="INV-1"),  # billed 5 Nov
        books.entry("2026-10-28", 3, approved_at="2026-11-02 09:00", invoice="INV-1"),
        books.entry("2026-11-02", 1.5, approved_at="2026-11-04 00:00", invoice="INV-2", project=books.b1),  # midnight
        books.entry("2026-11-03", 4, approved_at="2026-11-06 23:30", project=books.g1, rate="200"),
        books.entry("2026-11-05", 2, approved_at="2026-11-07 08:00", invoice="INV-3"),  # on a draft: unbilled
        books.entry("2026-11-06", 1, approved_at="2026-11-09 08:00", invoice="INV-4"),  # billed the 14th
        books.entry("2026-11-08", 6, approved_at="2026-11-09 08:00", billable=False),
        books.entry("2026-11-09", 2, "submitted"),
        books.entry("2026-11-10", 1, approved_at="2026-11-20 08:00", invoice="INV-5"),  # approved today
    ]
    books.invoice("INV-1", 500, "issued", issued="2026-11-05")
    books.invoice("INV-2", 150, "posted", issued="2026-11-16", project=books.b1)
    books.invoice("INV-3", 200, "draft")
    books.invoice("INV-4", 100, "paid", issued="2026-11-14", paid_at="2026-11-18 10:00")
    books.invoice("INV-4", 100, "issued", issued="2026-11-17")  # the same number again, later
    books.invoice("INV-5", 100, "issued", issued="2026-11-20")
    for entry, occurred_at in zip(
        entries, ("2026-10-26 08:00", "2026-11-02 23:30", "2026-11-04 06:00", "2026-11-07 00:00"), strict=False
    ):
        books.event("failed", occurred_at, external_id=entry.external_id)
        books.event("succeeded", occurred_at, external_id=entry.external_id)
        books.event("succeeded", "2026-11-10 10:00", external_id=entry.external_id)  # sent again: counted once
    books.events(3, "succeeded", "2026-11-08 14:00", target=books.xero, flow="te2billing")
    books.events(2, "failed", "2026-11-19 22:59", target=books.xero, flow="te2billing")
    books.event("skipped", "2026-11-11 09:00")
    books.event("succeeded", "2026-11-15 16:00", source=books.xero, record_type="invoice", external_id="INV-2")
    books.event("succeeded", "2026-11-20 09:00", external_id=entries[-1].external_id)  # today: not rolled up


@pytest.fixture
def firms(db):
    firms = [Books(), Books(time_zone="Europe/Berlin", slug="fabrikam-berlin")]
    for books in firms:
        fill(books)
    return [books.workspace for books in firms] + [Books(slug="idle").workspace]  # a firm with nothing at all


def rolled_up_rows():
    """Every roll-up row, without ids or computation times, in one comparable form."""
    rows = {}
    for model in ROLLED_UP:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    rows["RollupDay"] = sorted(RollupDay.objects.values_list("workspace_id", "day"))
    return rows


def forget_rollups():
    for model in (*ROLLED_UP, RollupDay):
        model.objects.all().delete()


def test_a_run_of_days_rolls_up_as_each_day_alone(firms):
    for workspace in firms:
        rollup_days(workspace, DAYS, now=NOW)
    together = rolled_up_rows()
    forget_rollups()
    for workspace in firms:
        for each in DAYS:
            rollup_day(workspace, each, now=NOW)
    alone = rolled_up_rows()
    assert together == alone
    # Every kind has rows, on several days, so the comparison above compares something.
    assert all(len({row for row in rows}) > 1 for rows in together.values())
    assert {row[1] for row in together["DailyWip"]} > {day("2026-11-02"), day("2026-11-19")}
    # The day not over yet is not rolled up; the day with nothing is, with no rows.
    assert together["RollupDay"] == [(w.pk, d) for w in firms for d in DAYS[:-1]]
    assert day("2026-11-12") not in {row[1] for row in together["DailySync"]}


def test_the_task_rolls_up_all_firms_as_each_day_alone(firms):
    assert rollup_missing_days(days=19, workspaces=firms, now=NOW) == 3 * 19
    together = rolled_up_rows()
    forget_rollups()
    for workspace in firms:
        for each in DAYS[:-1]:
            rollup_day(workspace, each, now=NOW)
    assert rolled_up_rows() == together


def test_each_rolled_up_backlog_is_the_live_one(firms):
    for workspace in firms:
        rollup_days(workspace, DAYS, now=NOW)
        for each in DAYS[:-1]:
            scope = Scope(workspace=workspace, start=each, end=each, now=NOW)
            assert invoice_ready_total(scope) == invoice_ready_backlog(scope)["total"]


def test_the_backlog_of_each_day(firms):
    rollup_days(firms[0], DAYS, now=NOW)
    hours = {}
    for row in DailyWip.objects.filter(workspace=firms[0]):
        hours[row.day] = hours.get(row.day, 0) + row.hours
    assert [float(hours.get(d, 0)) for d in DAYS[:-1]] == [
        2,  # 1 Nov: the October entry
        5,
        6.5,  # approved at midnight at the end of the 3rd
        6.5,
        1.5,  # INV-1 issued on the 5th
        5.5,
        7.5,
        7.5,
        8.5,  # the non-billable entry never counts
        8.5,
        8.5,
        8.5,
        8.5,
        7.5,  # INV-4 issued on the 14th; its second issue changes nothing
        7.5,
        6,  # INV-2 issued on the 16th
        6,
        6,
        6,
    ]
