"""The finer rules: in transit until the grace has passed, billing's side of invoiced time, what the queue
already knows, and the same sides as records.sides defines them."""

from datetime import timedelta
from decimal import Decimal

import pytest

from opsview.queues.models import ExceptionGroup, ExceptionItem, Kind, Status
from opsview.reconcile.engine import reconcile
from opsview.reconcile.figures import GRACE
from opsview.records.models import TimeEntry
from opsview.records.sides import erp_hours, invoiced_hours, reached
from tests.conftest import keep_stakes
from tests.reconcile_support import NOVEMBER, NOW, entry, posting, three_systems


@pytest.fixture
def planted(northwind):
    return three_systems(northwind)


def causes(result):
    return sorted(g.cause for g in result.gaps)


def test_time_in_transit_becomes_a_gap_once_the_grace_has_passed(northwind, planted):
    later = reconcile(northwind.workspace, NOVEMBER, now=NOW + GRACE)

    gaps = [g for g in later.gaps if g.cause == "missing_in_erp" and g.project_id == planted["nw2"].pk]
    assert [g.records for g in gaps] == [["T1"]] and gaps[0].money_at_stake == Decimal("300.00")


def test_invoiced_time_billing_does_not_hold_and_invoiced_hours_that_differ(northwind, planted):
    nw3 = planted["nw3"]
    entry(northwind, "D1", nw3, "3", invoice="INV-3")
    posting(northwind, northwind.erp, "tl-D1", "time_entry", "D1", hours="3")
    entry(northwind, "D2", nw3, "2", invoice="INV-3")
    posting(northwind, northwind.erp, "tl-D2", "time_entry", "D2", hours="2")
    posting(northwind, northwind.xero, "il-D2", "time_entry", "D2", hours="1.5", number="INV-3")

    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)

    found = {g.cause: g for g in result.gaps if g.project_id == nw3.pk}
    assert set(found) == {"missing_in_billing", "hours_differ_billing"}
    missing, differ = found["missing_in_billing"], found["hours_differ_billing"]
    assert (missing.records, missing.source.hours, missing.money_at_stake) == (["D1"], 3, Decimal("450.00"))
    assert missing.system_id == northwind.xero.pk and missing.target.label == "Xero"
    assert (differ.records, differ.target.hours, differ.money_at_stake) == (["D2"], Decimal("1.50"), Decimal("75.00"))


def test_an_invoice_the_queue_already_holds_is_not_a_gap(northwind, planted):
    from tests.reconcile_support import invoice

    late = invoice(northwind, "INV-5", "250.00", 18)
    assert "invoice_missing_in_erp" in causes(reconcile(northwind.workspace, NOVEMBER, now=NOW))
    group = ExceptionGroup.objects.create(
        workspace=northwind.workspace,
        fingerprint="u" * 40,
        kind=Kind.UNPOSTED_INVOICE,
        system=northwind.xero,
        record_type="invoice",
        message="Invoices issued but not posted",
    )
    ExceptionItem.objects.create(
        workspace=northwind.workspace,
        key=f"unposted_invoice|{northwind.xero.pk}|invoice|{late.external_id}",
        group=group,
        kind=Kind.UNPOSTED_INVOICE,
        system=northwind.xero,
        source_system=northwind.xero,
        record_type="invoice",
        external_id=late.external_id,
        record_date=late.issue_date,
        sla_due_at=NOW,
        status=Status.IGNORED,
    )

    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)

    assert "invoice_missing_in_erp" not in causes(result)
    assert result.totals["invoices"]["known"] == 1


def test_an_automatically_resolved_exception_does_not_hide_a_gap(northwind, planted):
    ExceptionItem.objects.filter(external_id="K1").update(status=Status.RESOLVED, resolution="automatic")
    keep_stakes(northwind)

    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)

    gap = next(g for g in result.gaps if g.cause == "missing_in_erp" and g.project_id == planted["nw1"].pk)
    assert gap.records == ["A2", "K1"] and gap.money_at_stake == Decimal("1350.00")


def test_a_projects_sides_are_those_records_sides_defines(northwind, planted):
    result = reconcile(northwind.workspace, NOVEMBER, now=NOW)
    balance = next(b for b in result.projects if b.project_id == planted["nw1"].pk)

    approved = TimeEntry.objects.filter(project=planted["nw1"], status="approved")
    sides = list(approved.annotate(erp=reached(erp_hours()), inv=reached(invoiced_hours())).values_list("erp", "inv"))
    assert balance.erp_hours == sum(erp for erp, _ in sides) == Decimal(8)
    assert balance.invoiced_hours == sum(inv for _, inv in sides) == Decimal(8)


def test_a_run_judged_only_after_the_grace(northwind, planted):
    run = planted["run"]
    run.finished_at = NOW - timedelta(hours=1)
    run.save()

    assert "run_lost_records" not in causes(reconcile(northwind.workspace, NOVEMBER, now=NOW))
