"""Scopes: who sees which rows, periods and filters from query parameters; roll-ups; project billing status."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.http import Http404

from opsview.kpis.approval import unapproved_time_aging
from opsview.kpis.forms import scope_from_params
from opsview.kpis.models import DailyWip, RollupDay
from opsview.kpis.projects import failed_postings, project_billing_status, project_timeline
from opsview.kpis.rollups import rollup_day, rollup_missing_days
from opsview.kpis.scope import ScopeError
from opsview.kpis.wip import invoice_ready_backlog, invoice_ready_total, unbilled_wip_trend
from opsview.records.models import TimeEntry
from opsview.telemetry.models import SyncEvent
from tests.kpi_books import Books, at, day

NOV_20 = at("2026-11-20 12:00")


def aging_hours(user, firm, **params):
    scope = scope_from_params(user, firm.workspace, {"start": "2026-11-01", "end": "2026-11-20", **params}, now=NOV_20)
    return unapproved_time_aging(scope)["total"]["hours"]


def test_a_manager_sees_only_their_projects(northwind, max_manager, erin):
    # Each of Northwind's two projects has 7.5 h submitted; Max manages one.
    assert aging_hours(erin, northwind) == D("15.00")
    assert aging_hours(max_manager, northwind) == D("7.50")
    assert aging_hours(erin, northwind, project=str(northwind.other_project.pk)) == D("7.50")


def test_a_filter_on_an_unseen_id_is_404(northwind, max_manager, erin, contoso):
    with pytest.raises(Http404):
        aging_hours(max_manager, northwind, project=str(northwind.other_project.pk))
    with pytest.raises(Http404):
        aging_hours(erin, northwind, client=str(contoso.client.pk))


def test_an_outsider_sees_nothing(northwind, oscar):
    scope = scope_from_params(oscar, northwind.workspace, {}, now=NOV_20)
    assert unapproved_time_aging(scope)["total"]["entries"] == 0


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        ({}, date(2026, 10, 22), date(2026, 11, 20)),
        ({"period": "90d"}, date(2026, 8, 23), date(2026, 11, 20)),
        ({"period": "month"}, date(2026, 11, 1), date(2026, 11, 20)),
        ({"period": "last-month"}, date(2026, 10, 1), date(2026, 10, 31)),
        ({"end": "2026-10-31"}, date(2026, 10, 2), date(2026, 10, 31)),
        ({"start": "2026-11-10"}, date(2026, 11, 10), date(2026, 11, 20)),
    ],
)
def test_periods(northwind, erin, params, start, end):
    scope = scope_from_params(erin, northwind.workspace, params, now=NOV_20)
    assert (scope.start, scope.end) == (start, end)


def test_previous_period_has_the_same_length(northwind, erin):
    scope = scope_from_params(erin, northwind.workspace, {"start": "2026-11-01", "end": "2026-11-20"}, now=NOV_20)
    assert (scope.previous().start, scope.previous().end) == (date(2026, 10, 12), date(2026, 10, 31))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-11-20", "end": "2026-11-01"}, "start: must not be after end"),
        ({"start": "2025-01-01", "end": "2026-11-01"}, "at most 366 days"),
        ({"start": "yesterday"}, "start: Enter a valid date"),
        ({"client": "abc"}, "client: Enter a whole number"),
    ],
)
def test_malformed_filters_are_explained(northwind, erin, params, message):
    with pytest.raises(ScopeError, match=message):
        scope_from_params(erin, northwind.workspace, params, now=NOV_20)


@pytest.fixture
def rolled_books(db):
    books = Books()
    books.entry("2026-11-16", 2, approved_at="2026-11-17 10:00")  # A1, Mara's
    books.entry("2026-11-16", 3, approved_at="2026-11-18 10:00", project=books.b1)
    books.entry("2026-11-16", 1, approved_at="2026-11-18 11:00", project=books.g1, rate="200")
    return books


def test_rollup_keeps_the_backlog_of_each_finished_day(rolled_books):
    assert rollup_missing_days(days=3, workspaces=[rolled_books.workspace], now=NOV_20) == 3
    assert rollup_missing_days(days=3, workspaces=[rolled_books.workspace], now=NOV_20) == 0  # nothing missing
    trend = unbilled_wip_trend(rolled_books.scope("2026-11-16", "2026-11-20", "2026-11-20 12:00"))
    assert trend["computed_at"] == NOV_20
    assert [(p["day"].day, p["hours"], p["value"]) for p in trend["points"]] == [
        (17, D("2.00"), [{"currency": "EUR", "amount": D("200.00")}]),
        (18, D("6.00"), [{"currency": "EUR", "amount": D("500.00")}, {"currency": "USD", "amount": D("200.00")}]),
        (19, D("6.00"), [{"currency": "EUR", "amount": D("500.00")}, {"currency": "USD", "amount": D("200.00")}]),
    ]
    narrowed = unbilled_wip_trend(
        rolled_books.scope("2026-11-16", "2026-11-20", "2026-11-20 12:00", project=rolled_books.b1.pk)
    )
    assert [p["hours"] for p in narrowed["points"]] == [D("0.00"), D("3.00"), D("3.00")]


def test_the_backlog_total_of_a_rolled_up_day_is_the_live_one(rolled_books):
    rollup_missing_days(days=3, workspaces=[rolled_books.workspace], now=NOV_20)
    for end in ("2026-11-17", "2026-11-18", "2026-11-20"):  # rolled up, rolled up, live
        scope = rolled_books.scope("2026-11-01", end, "2026-11-20 12:00")
        assert invoice_ready_total(scope) == invoice_ready_backlog(scope)["total"]
    assert invoice_ready_total(rolled_books.scope("2026-11-01", "2026-11-18", "2026-11-20 12:00"))["hours"] == D("6.00")


def test_rollup_recomputes_a_day_in_place(rolled_books):
    rollup_day(rolled_books.workspace, day("2026-11-18"), now=NOV_20)
    TimeEntry.objects.filter(project=rolled_books.b1).update(invoice_reference="X")  # no such invoice: still unbilled
    rolled_books.invoice("X", 300, "issued", issued="2026-11-18", project=rolled_books.b1)
    rollup_day(rolled_books.workspace, day("2026-11-18"), now=NOV_20)
    assert DailyWip.objects.filter(day=day("2026-11-18")).count() == 2
    assert RollupDay.objects.count() == 1


def test_a_manager_sees_the_rollup_of_their_projects(northwind, max_manager):
    TimeEntry.objects.filter(workspace=northwind.workspace).update(
        status="approved", approved_at=at("2026-11-03 09:00")
    )
    rollup_day(northwind.workspace, day("2026-11-10"), now=NOV_20)
    scope = scope_from_params(
        max_manager, northwind.workspace, {"start": "2026-11-10", "end": "2026-11-10"}, now=NOV_20
    )
    assert [p["hours"] for p in unbilled_wip_trend(scope)["points"]] == [D("7.50")]


def test_project_billing_status_of_a_manager(northwind, max_manager):
    TimeEntry.objects.filter(project=northwind.managed_project).update(
        status="approved", approved_at=at("2026-11-03 09:00")
    )
    scope = scope_from_params(
        max_manager, northwind.workspace, {"start": "2026-11-01", "end": "2026-11-20"}, now=NOV_20
    )
    [row] = project_billing_status(scope)
    assert row["project"] == northwind.managed_project
    assert (row["approved_hours"], row["unapproved_hours"]) == (D("7.50"), D("0.00"))
    assert row["invoice_ready"] == [{"currency": "EUR", "amount": D("1125.00")}]
    # The cast's failed posting of TE-PR-1 to the ERP on 3 November blocks billing.
    assert row["failed_postings"] == 1
    assert failed_postings(scope)[0]["records"] == 1


def test_a_later_successful_posting_clears_the_failure(northwind, erin):
    failed = SyncEvent.objects.get(event_id="ev-1")
    SyncEvent.objects.create(
        workspace=northwind.workspace,
        event_id="ev-2",
        run=failed.run,
        record_type="time_entry",
        external_id="TE-PR-1",
        source_system=northwind.harvest,
        target_system=northwind.erp,
        outcome="succeeded",
        occurred_at=at("2026-11-04 09:00"),
    )
    scope = scope_from_params(erin, northwind.workspace, {"start": "2026-11-01", "end": "2026-11-20"}, now=NOV_20)
    assert failed_postings(scope) == []


def test_project_timeline_by_week(rolled_books):
    rolled_books.entry("2026-11-09", 4, "submitted")
    rolled_books.invoice("INV-7", 200, "paid", issued="2026-11-19", paid_at="2026-11-20 09:00")
    timeline = project_timeline(
        rolled_books.scope("2026-11-01", "2026-11-20", "2026-11-20 12:00", project=rolled_books.a1.pk)
    )
    assert [(w["week"], w["approved"], w["waiting"]) for w in timeline["weeks"]] == [
        (day("2026-11-09"), D("0.00"), D("4.00")),
        (day("2026-11-16"), D("2.00"), D("0.00")),
    ]
    assert [i.number for i in timeline["invoices"]] == ["INV-7"]
