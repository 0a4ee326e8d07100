"""Reconciliation finds each planted gap with its figures and money at stake, and nothing else."""

from decimal import Decimal

import pytest

from opsview.reconcile.engine import reconcile
from opsview.reconcile.periods import BadPeriod, Period
from tests.reconcile_support import NOVEMBER, NOW, three_systems


@pytest.fixture
def planted(northwind):
    return three_systems(northwind)


def by_cause(result):
    return {gap.cause: gap for gap in result.gaps}


def test_each_planted_gap_is_found_and_nothing_else(northwind, planted):
    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)

    assert sorted(g.cause for g in result.gaps) == [
        "hours_differ_erp",
        "invoice_amount_differs",
        "invoice_posted_twice",
        "missing_in_erp",
        "only_in_erp",
        "run_lost_records",
    ]
    assert result.unreported == []


def test_approved_time_never_posted(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["missing_in_erp"]

    assert gap.key == f"reconciliation:missing_in_erp:project:{planted['nw1'].pk}:2026-11"
    assert gap.project_id == planted["nw1"].pk and gap.records == ["A2"]
    assert (gap.source.count, gap.source.hours) == (1, Decimal("4.00"))
    assert (gap.target.count, gap.target.hours) == (0, Decimal("0"))
    assert gap.money_at_stake == Decimal("600.00") and gap.currency == "EUR"
    assert gap.system_id == northwind.erp.pk and gap.source_system_id == northwind.harvest.pk


def test_hours_that_differ_by_a_quarter(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["hours_differ_erp"]

    assert gap.project_id == planted["nw2"].pk and gap.records == ["B1"]
    assert (gap.source.hours, gap.target.hours) == (Decimal("6.00"), Decimal("5.75"))
    assert gap.money_at_stake == Decimal("37.50")


def test_an_invoice_posted_twice(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["invoice_posted_twice"]

    assert gap.records == ["INV-1"] and gap.key == "reconciliation:invoice_posted_twice:invoice:INV-1:2026-11"
    assert (gap.source.count, gap.source.amount) == (1, Decimal("1200.00"))
    assert (gap.target.count, gap.target.amount) == (2, Decimal("2400.00"))
    assert gap.money_at_stake == Decimal("1200.00")


def test_an_invoice_amount_that_differs_by_a_cent(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["invoice_amount_differs"]

    assert gap.records == ["INV-2"]
    assert (gap.source.amount, gap.target.amount) == (Decimal("900.00"), Decimal("900.01"))
    assert gap.money_at_stake == Decimal("0.01")


def test_a_posting_only_in_the_erp(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["only_in_erp"]

    assert gap.records == ["TE-PR-2"] and gap.project_id == planted["nw2"].pk
    assert (gap.source.count, gap.target.count, gap.target.hours) == (0, 1, Decimal("7.50"))
    assert gap.money_at_stake == Decimal("1125.00")


def test_a_run_that_lost_records(northwind, planted):
    gap = by_cause(reconcile(northwind.workspace, NOVEMBER, now=NOW))["run_lost_records"]

    assert gap.records == [str(planted["run"].pk)]
    assert (gap.source.count, gap.target.count) == (10, 7)
    assert gap.system_id == northwind.erp.pk


def test_balances_count_wip_transit_and_known_without_gaps(northwind, planted):
    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)
    balances = {b.project_id: b for b in result.projects}
    nw1, nw2, nw3 = (balances[planted[k].pk] for k in ("nw1", "nw2", "nw3"))

    assert (nw1.approved_hours, nw1.erp_hours, nw1.invoiced_hours) == (Decimal(17), Decimal(8), Decimal(8))
    assert (nw1.known_hours, nw1.transit_hours, nw1.gap_count) == (Decimal(5), Decimal(0), 1)
    assert (nw2.approved_hours, nw2.erp_hours, nw2.transit_hours) == (Decimal(11), Decimal("16.25"), Decimal(2))
    assert (nw2.gap_count, nw2.money_at_stake) == (2, Decimal("1162.50"))
    assert (nw3.approved_hours, nw3.reconciled_hours, nw3.gap_count) == (Decimal(2), Decimal(2), 0)
    assert [b.project_id for b in result.projects][-1] == planted["nw3"].pk  # mismatches first
    assert result.totals["invoices"]["issued"] == 3 and result.totals["invoices"]["matched"] == 1


def test_a_side_that_never_reported_is_said_and_not_compared(northwind):
    from tests.reconcile_support import entry

    entry(northwind, "X1", northwind.managed_project, "4")

    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)

    assert result.gaps == []
    assert "Tryton has reported no time postings yet" in " ".join(result.unreported)


def test_periods_parse_or_say_what_is_wrong():
    assert Period.parse("2026-11").end.isoformat() == "2026-11-30"
    assert Period.parse("2024-02").end.day == 29
    for bad, words in [("2026-13", "month 13"), ("nov", "YYYY-MM"), ("", "YYYY-MM"), ("1899-01", "year 1899")]:
        with pytest.raises(BadPeriod, match=words):
            Period.parse(bad)
