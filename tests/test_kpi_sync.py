"""Sync success rate, exception KPIs and percentiles, against hand-worked answers."""

from datetime import timedelta

import pytest
from django.db.models import Count, F

from opsview.kpis.exceptions import exception_resolution_time, exception_volume, items_past_sla
from opsview.kpis.percentiles import percentiles
from opsview.kpis.rollups import rollup_day, rollup_days
from opsview.kpis.scope import Scope
from opsview.kpis.sync import sync_events_behind, sync_success_rate, sync_success_totals
from opsview.records.models import TimeEntry
from tests.conftest import keep_stakes
from tests.kpi_books import Books, at, day
from tests.queue_support import exceptions, failure, send

NOW = "2026-11-04 12:00"


@pytest.fixture
def sync_books(db):
    books = Books()
    h, x, t = books.harvest, books.xero, books.tryton
    books.events(3, "succeeded", "2026-11-01 09:00", flow="te2erp")
    books.events(1, "failed", "2026-11-01 09:00", flow="te2erp")
    books.events(2, "skipped", "2026-11-01 09:00", flow="te2erp")
    books.events(1, "succeeded", "2026-11-01 10:00", flow="inv2erp", source=x)
    books.events(1, "failed", "2026-11-01 10:00", flow="inv2erp", source=x)
    books.events(3, "succeeded", "2026-11-02 09:00", flow="te2erp")
    books.events(1, "failed", "2026-11-02 11:00", flow=None)  # an event reported outside any run
    books.events(2, "failed", "2026-11-01 12:00", flow="te2bill", source=h, target=x)
    books.events(2, "skipped", "2026-11-02 12:00", flow="te2bill", source=h, target=x)
    books.events(5, "failed", "2026-10-31 09:00", flow="te2erp")  # before the period
    assert t.kind == "erp"
    return books


def test_sync_success_rate_per_system_flow_and_day(sync_books):
    result = sync_success_rate(sync_books.scope("2026-11-01", "2026-11-02", NOW))
    assert (result["succeeded"], result["failed"], result["rate"]) == (7, 5, 0.5833)
    assert [(s["system"], s["succeeded"], s["failed"], s["rate"]) for s in result["systems"]] == [
        ("Tryton", 7, 3, 0.7),
        ("Xero", 0, 2, 0.0),
    ]
    tryton = result["systems"][0]
    assert [(d["day"], d["rate"]) for d in tryton["days"]] == [(day("2026-11-01"), 0.6667), (day("2026-11-02"), 0.75)]
    assert [(r["system"], r["flow"], r["day"].day, r["succeeded"], r["failed"], r["rate"]) for r in result["rows"]] == [
        ("Tryton", "inv2erp", 1, 1, 1, 0.5),
        ("Tryton", "te2erp", 1, 3, 1, 0.75),
        ("Tryton", "", 2, 0, 1, 0.0),
        ("Tryton", "te2erp", 2, 3, 0, 1.0),
        ("Xero", "te2bill", 1, 0, 2, 0.0),
    ]


@pytest.mark.parametrize("rolled_up", [["2026-11-01"], ["2026-11-01", "2026-11-02"], ["2026-11-02"]])
def test_rolled_up_days_give_the_same_figures(sync_books, rolled_up):
    scope = sync_books.scope("2026-11-01", "2026-11-02", NOW)
    live = sync_success_rate(scope)
    for rolled in rolled_up:
        rollup_day(sync_books.workspace, day(rolled), now=at(NOW))
    assert sync_success_rate(scope) == live
    filtered = sync_books.scope("2026-11-01", "2026-11-02", NOW, system=sync_books.xero.pk)
    assert sync_success_totals(filtered) == {"succeeded": 1, "failed": 3, "rate": 0.25}


def test_days_rolled_up_together_give_the_figures_of_days_rolled_up_one_by_one(sync_books):
    scope = sync_books.scope("2026-11-01", "2026-11-02", NOW)
    live = sync_success_rate(scope)
    rollup_days(sync_books.workspace, [day("2026-11-01"), day("2026-11-02")], now=at(NOW))
    assert sync_success_rate(scope) == live


def test_sync_system_filter_takes_either_end(sync_books):
    result = sync_success_rate(sync_books.scope("2026-11-01", "2026-11-02", NOW, system=sync_books.xero.pk))
    # Xero as target (te2bill) and as source (inv2erp, to Tryton).
    assert [(s["system"], s["succeeded"], s["failed"]) for s in result["systems"]] == [("Tryton", 1, 1), ("Xero", 0, 2)]


def test_sync_drill_down_rows(sync_books):
    scope = sync_books.scope("2026-11-01", "2026-11-02", NOW)
    events = sync_events_behind(scope, system=sync_books.tryton.pk, day=day("2026-11-01"))
    assert events.count() == 6
    assert sync_events_behind(scope, system=sync_books.tryton.pk, day=day("2026-11-01"), outcome="failed").count() == 2


def test_sync_days_are_local(db):
    books = Books(time_zone="Europe/Berlin")
    books.event("succeeded", "2026-10-31 23:30")  # 00:30 on 1 November in Berlin
    assert sync_success_rate(books.scope("2026-10-01", "2026-10-31", NOW))["rate"] is None
    november = sync_success_rate(books.scope("2026-11-01", "2026-11-30", NOW))
    assert november["rows"][0]["day"] == day("2026-11-01")


def test_sync_with_no_events(db):
    result = sync_success_rate(Books().scope("2026-11-01", "2026-11-02", NOW))
    assert result == {"succeeded": 0, "failed": 0, "rate": None, "systems": [], "rows": []}


# Exceptions reported through the ingest API, then dated by hand: (first seen, resolved or None, kind).
WORKED_EXCEPTIONS = {
    "TE-1": ("2026-10-30 10:00", "2026-11-02 10:00", "posting_failure"),  # open when the period starts, 72 h
    "TE-2": ("2026-11-01 08:00", "2026-11-01 20:00", "posting_failure"),  # 12 h
    "TE-3": ("2026-11-01 09:00", None, "sync_error"),  # still open, past its SLA
    "TE-4": ("2026-11-03 06:00", "2026-11-03 12:00", "posting_failure"),  # 6 h
    "TE-5": ("2026-11-04 06:00", None, "posting_failure"),  # after the period, within its SLA
    "TE-6": ("2026-10-20 10:00", "2026-10-25 10:00", "posting_failure"),  # resolved before the period
}


@pytest.fixture
def exception_books(api, northwind):
    send(api, *(failure(external_id) for external_id in WORKED_EXCEPTIONS))
    for external_id, (first_seen, resolved, kind) in WORKED_EXCEPTIONS.items():
        exceptions(northwind, external_id=external_id).update(
            first_seen_at=at(first_seen),
            resolved_at=at(resolved) if resolved else None,
            status="resolved" if resolved else "open",
            sla_due_at=at(first_seen) + timedelta(hours=24),
            kind=kind,
        )
    keep_stakes(northwind)
    return northwind


def exception_scope(firm):
    return Scope(workspace=firm.workspace, start=day("2026-11-01"), end=day("2026-11-03"), now=at(NOW))


def test_exception_volume_new_resolved_open_per_day(exception_books):
    result = exception_volume(exception_scope(exception_books))
    assert [(d["day"].day, d["new"], d["resolved"], d["open"]) for d in result["days"]] == [
        (1, 2, 1, 2),
        (2, 0, 1, 1),
        (3, 1, 1, 1),
    ]
    assert (result["new"], result["resolved"], result["open_at_end"]) == (3, 3, 1)


def test_exception_resolution_time_percentiles(exception_books):
    result = exception_resolution_time(exception_scope(exception_books))
    # 6, 12 and 72 hours: median 12; the 90th percentile lies 80% of the way from 12 to 72.
    assert result == {"resolved": 3, "median_hours": 12.0, "p90_hours": 60.0}


def test_items_past_sla(exception_books):
    result = items_past_sla(exception_scope(exception_books))
    assert result == {"items": 1, "by_kind": [{"kind": "sync_error", "items": 1}]}


@pytest.mark.parametrize(
    ("hours", "median", "p90"),
    [
        ([], None, None),
        (["5"], 5.0, 5.0),
        (["1", "2", "3", "4"], 2.5, 3.7),
        (["4", "1", "3", "2", "10"], 3.0, 7.6),
    ],
)
def test_percentiles_interpolate_like_percentile_cont(db, hours, median, p90):
    books = Books()
    for h in hours:
        books.entry("2026-11-01", h, "draft")
    result, counted = percentiles(TimeEntry.objects.for_workspace(books.workspace), F("hours"), also={"n": Count("id")})
    assert counted == {"n": len(hours)}
    if median is None:
        assert result == {0.5: None, 0.9: None}
    else:
        assert (result[0.5], result[0.9]) == (pytest.approx(median), pytest.approx(p90))
