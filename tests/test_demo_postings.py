"""The demo's ERP and billing hold what its jobs delivered, and the few gaps planted on purpose, nothing else.

Seeded once for the module at a small size (as tests/test_seed_demo.py does), with the queue's exceptions
opened from the sync events as ``make run`` does; each test reads it inside its own transaction.
"""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from opsview.demo.plan import month_index, month_start
from opsview.demo.planting import CAUSES, INVOICE_CAUSES, PLANTS_FILE, read_plants
from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice, Posting, TimeEntry
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Workspace

# Enough people for the smaller firm to bill a few invoices that posted cleanly, whatever today's date makes of
# the generated months: each invoice cause needs one such invoice in each firm (24 people left it one on some days).
SMALL = ("--people", "60", "--time-entries", "3000", "--sync-events", "8000", "--without-erp")

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def plants(django_db_setup, django_db_blocker, tmp_path_factory):
    """The planted gaps as the command listed them; the demo stays in the test database until the module ends."""
    var = tmp_path_factory.mktemp("var")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=var):
        out = StringIO()
        call_command("seed_demo", *SMALL, stdout=out)
        call_command("backfill_queues", stdout=StringIO())
        assert "planted reconciliation gaps" in out.getvalue()
        yield read_plants(var / PLANTS_FILE)
        call_command("flush", interactive=False, verbosity=0)


def planted(plants, *causes):
    return {p.record for p in plants if p.cause in causes}


def planted_in_firm(plants, *causes):
    """``(firm, record)`` of the gaps planted for ``causes``: for records numbered per firm, such as invoices."""
    return {(p.workspace, p.record) for p in plants if p.cause in causes}


def delivered(target, record_type):
    """Ids of the records a job reported delivered to ``target`` (a system slug)."""
    events = SyncEvent.objects.filter(outcome="succeeded", record_type=record_type, target_system__slug=target)
    return set(events.values_list("external_id", flat=True))


def lines(system, record_type="time_entry"):
    return Posting.objects.filter(system__slug=system, record_type=record_type)


def test_the_erp_holds_a_line_for_each_entry_delivered_there_with_its_hours_and_day(plants):
    erp = {p.source_external_id: p for p in lines("tryton")}
    sent = delivered("tryton", "time_entry")
    assert len(sent) > 1000
    entries = TimeEntry.objects.filter(status="approved")
    missing, off = planted(plants, "missing_in_erp"), planted(plants, "hours_differ_erp")
    for entry in entries.filter(external_id__in=sent):
        if entry.external_id in missing:
            assert entry.external_id not in erp
            continue
        line = erp[entry.external_id]
        assert (line.posted_on, line.source_system_id, line.is_cancelled) == (entry.work_date, entry.system_id, False)
        assert line.hours == entry.hours + (Decimal("0.25") if entry.external_id in off else 0)
    # The ERP holds nothing else: only approved, delivered entries, and the lines planted as only in the ERP.
    assert set(erp) - sent == planted(plants, "only_in_erp")
    assert not TimeEntry.objects.filter(external_id__in=planted(plants, "only_in_erp")).exists()


def test_billing_holds_each_billed_entry_on_the_invoice_the_entry_names(plants):
    billing = {p.source_external_id: p for p in lines("xero")}
    sent = delivered("xero", "time_entry")
    missing, off = planted(plants, "missing_in_billing"), planted(plants, "hours_differ_billing")
    assert set(billing) == sent - missing
    invoiced = TimeEntry.objects.exclude(invoice_reference="")
    assert invoiced.count() > 500
    for entry in TimeEntry.objects.filter(external_id__in=sent):
        if entry.external_id in missing:
            assert entry.invoice_reference, "what billing lost was invoiced"
            continue
        line = billing[entry.external_id]
        assert line.number == entry.invoice_reference
        assert line.hours == entry.hours + (Decimal("0.25") if entry.external_id in off else 0)
        assert line.amount == entry.hours * entry.bill_rate
    # Time not yet on an invoice is in billing without a number: work in progress, no gap.
    assert any(not line.number for line in billing.values())


def test_the_erp_holds_each_posted_invoice_once_a_void_one_reversed_and_an_unposted_one_not_at_all(plants):
    # An invoice's number is its firm's own: both firms may have an INV-2026-0080, one paid and one issued.
    erp = Counter()
    amounts = {}
    for posting in lines("tryton", "invoice").filter(is_cancelled=False).select_related("workspace"):
        erp[posting.workspace.slug, posting.number] += 1
        amounts[posting.workspace.slug, posting.number] = posting.amount
    missing, twice = planted_in_firm(plants, "invoice_missing_in_erp"), planted_in_firm(plants, "invoice_posted_twice")
    off = planted_in_firm(plants, "invoice_amount_differs")
    for invoice in Invoice.objects.select_related("workspace"):
        number = (invoice.workspace.slug, invoice.number)
        if invoice.status in ("posted", "paid"):
            expected = 0 if number in missing else 2 if number in twice else 1
            assert erp[number] == expected, number
            if expected:
                assert amounts[number] == invoice.amount + (Decimal("0.01") if number in off else 0)
        else:
            assert not erp[number], f"{number} is {invoice.status}"
    void = Invoice.objects.filter(status="void", posted_at__isnull=False)  # few: a small demo may have none
    reversed_ = lines("tryton", "invoice").filter(is_cancelled=True)
    assert set(void.values_list("workspace__slug", "number")) == set(reversed_.values_list("workspace__slug", "number"))
    billed = set(Invoice.objects.values_list("workspace__slug", "number"))
    assert set(erp) - billed == planted_in_firm(plants, "invoice_only_in_erp")


def test_a_few_gaps_of_every_cause_are_planted_in_each_firm_settled_and_unknown_to_the_queue(plants):
    assert {p.workspace for p in plants} == {"northwind", "bluebird"}
    assert {p.cause for p in plants} == set(CAUSES)
    for slug in ("northwind", "bluebird"):
        causes = {p.cause for p in plants if p.workspace == slug}
        # Every cause but the three that change an invoice the ERP took the first time: this small a demo may hold
        # fewer such invoices in a firm than there are causes (Bluebird two of its thirteen, on some days).
        assert set(CAUSES) - set(INVOICE_CAUSES) <= causes and causes & set(INVOICE_CAUSES)
    today = date.today()
    month = f"{month_start(month_index(today) - 2):%Y-%m}"
    assert Counter(p.period for p in plants if not p.cause.startswith("invoice_"))[month] == sum(
        1 for p in plants if not p.cause.startswith("invoice_")
    )
    settled = datetime.now(UTC) - timedelta(hours=24)
    ids = planted(plants, "missing_in_erp", "hours_differ_erp", "missing_in_billing", "hours_differ_billing")
    entries = TimeEntry.objects.filter(external_id__in=ids)
    assert len(entries) == len(ids) == 8  # one of each of the four per firm, each its own entry
    for entry in entries:
        assert entry.status == "approved" and entry.approved_at < settled and entry.invoice_reference
        assert not ExceptionItem.objects.filter(record_type="time_entry", external_id=entry.external_id).exists()
    numbers = planted_in_firm(plants, "invoice_missing_in_erp", "invoice_posted_twice")
    invoices = [i for i in Invoice.objects.select_related("workspace") if (i.workspace.slug, i.number) in numbers]
    assert len(invoices) == len(numbers)
    for invoice in invoices:
        assert invoice.posted_at < settled
        assert not ExceptionItem.objects.filter(record_type="invoice", external_id=invoice.external_id).exists()
    for run in SyncRun.objects.filter(pk__in=[int(r) for r in planted(plants, "run_lost_records")]):
        records = SyncEvent.objects.filter(run=run).values("record_type", "external_id").distinct().count()
        assert run.records_total > records and run.finished_at < settled
    assert len(planted(plants, "run_lost_records")) == 2


def test_no_sync_run_but_the_planted_ones_counts_more_records_than_it_reported(plants):
    lost = planted(plants, "run_lost_records")
    records = set(SyncEvent.objects.values_list("run_id", "record_type", "external_id"))
    events = Counter(run for run, _type, _id in records)
    for pk, total in SyncRun.objects.values_list("pk", "records_total"):
        assert (total > events[pk]) == (str(pk) in lost), pk


def test_reconciling_every_month_of_the_demo_finds_exactly_the_planted_gaps(plants):
    from opsview.reconcile.engine import reconcile
    from opsview.reconcile.periods import Period

    today = date.today()
    found = set()
    for workspace in Workspace.objects.all():
        for n in range(month_index(today - timedelta(days=190)), month_index(today) + 1):
            result = reconcile(workspace, Period.parse(f"{month_start(n):%Y-%m}"))
            found |= {(workspace.slug, g.cause, str(r), result.period.label) for g in result.gaps for r in g.records}
    assert found == {(p.workspace, p.cause, p.record, p.period) for p in plants}
