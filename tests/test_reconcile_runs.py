"""A reconciliation run opens one exception per gap with both sides, resolves by itself a gap a later run
no longer finds, reopens one that comes back, and never touches another period's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem, Kind, Resolution, Status
from opsview.reconcile.models import Gap, ProjectBalance, ReconciliationRun, RunState, Trigger
from opsview.reconcile.periods import Period
from opsview.reconcile.services import run_reconciliation
from tests.reconcile_support import NOVEMBER, NOW, entry, posting, three_systems


@pytest.fixture
def planted(northwind):
    return three_systems(northwind)


def reconciliation_items(firm):
    return ExceptionItem.objects.for_workspace(firm.workspace).filter(kind=Kind.RECONCILIATION)


def missing_key(planted):
    return f"reconciliation:missing_in_erp:project:{planted['nw1'].pk}:2026-11"


def test_a_run_opens_one_exception_per_gap_with_both_sides(northwind, planted):
    run = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)

    assert (run.status, run.gaps_found, run.opened, run.resolved) == (RunState.SUCCEEDED, 6, 6, 0)
    items = {i.error_code.lower(): i for i in reconciliation_items(northwind)}
    assert len(items) == 6
    missing = items["missing_in_erp"]
    assert missing.title == "NW1 Northwind Rollout · 2026-11 · approved time missing in the ERP"
    assert (missing.amount, missing.system, missing.source_system) == (
        Decimal("600.00"),
        northwind.erp,
        northwind.harvest,
    )
    assert missing.project == planted["nw1"] and missing.client == northwind.client
    gap = missing.gap
    assert (gap.source_count, gap.source_hours, gap.target_count, gap.target_hours) == (1, 4, 0, 0)
    assert gap.records == ["A2"] and gap.records_total == 1
    twice = items["invoice_posted_twice"]
    assert twice.title.startswith("Invoice INV-1") and twice.amount == Decimal("1200.00")
    assert twice.invoice.number == "INV-1"
    assert items["invoice_amount_differs"].amount == Decimal("0.01")
    assert ProjectBalance.objects.filter(run=run).count() == 3


def test_groups_are_per_cause(northwind, planted):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)

    groups = {i.group_id for i in reconciliation_items(northwind)}
    assert len(groups) == 6


def test_a_closed_gap_resolves_itself_and_a_reopened_one_reopens(northwind, planted):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)
    fix = posting(northwind, northwind.erp, "tl-A2", "time_entry", "A2", hours="4")

    later = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW + timedelta(hours=1))

    item = ExceptionItem.objects.get(key=missing_key(planted))
    assert (item.status, item.resolution) == (Status.RESOLVED, Resolution.AUTOMATIC)
    assert f"Reconciliation run {later.pk}" in item.resolution_note
    assert later.resolved == 1 and later.opened == 0
    assert reconciliation_items(northwind).filter(status=Status.OPEN).count() == 5
    assert AuditEntry.objects.filter(action="exception.auto_resolve", target_id=str(item.pk)).exists()

    fix.is_cancelled = True  # the ERP reversed it: the gap is back
    fix.save()
    again = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW + timedelta(hours=2))

    item.refresh_from_db()
    assert (item.status, item.recurrences, again.reopened) == (Status.OPEN, 1, 1)


def test_a_gap_found_again_keeps_its_exception_with_new_figures(northwind, planted):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)
    entry(northwind, "A3", planted["nw1"], "2")
    later = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW + timedelta(hours=1))

    item = ExceptionItem.objects.get(key=missing_key(planted))
    assert (item.status, item.amount, later.opened) == (Status.OPEN, Decimal("900.00"), 0)
    assert item.gap.records == ["A2", "A3"] and item.gap.source_hours == 6 and item.gap.last_run == later


def test_a_gap_a_person_ignored_stays_ignored(northwind, planted):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)
    ExceptionItem.objects.filter(key=missing_key(planted)).update(status=Status.IGNORED)

    later = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW + timedelta(hours=1))

    assert ExceptionItem.objects.get(key=missing_key(planted)).status == Status.IGNORED
    assert (later.opened, later.reopened, later.resolved) == (0, 0, 0)


def test_another_periods_exceptions_are_never_touched(northwind, planted):
    run_reconciliation(northwind.workspace, NOVEMBER, Trigger.DAILY, now=NOW)

    december = run_reconciliation(northwind.workspace, Period.parse("2026-12"), Trigger.DAILY, now=NOW)

    assert december.resolved == 0
    assert reconciliation_items(northwind).filter(status=Status.OPEN).count() == 6


def test_a_manual_run_is_audited_in_its_requesters_name(northwind, planted, olivia):
    run = run_reconciliation(northwind.workspace, NOVEMBER, Trigger.MANUAL, user=olivia, now=NOW)

    audit = AuditEntry.objects.get(action="reconciliation.run")
    assert (audit.actor, audit.target_id, audit.after["gaps"]) == (olivia, str(run.pk), 6)


def test_the_schedules_run_this_month_daily_and_last_month_at_close(northwind, planted):
    from django_q.models import Schedule

    from opsview.reconcile.tasks import reconcile_daily, reconcile_period_close

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"opsview.reconcile.tasks.reconcile_daily", "opsview.reconcile.tasks.reconcile_period_close"} <= funcs

    first_of_december = timezone.make_aware(timezone.datetime(2026, 12, 1, 6, 0))
    assert reconcile_period_close(now=first_of_december + timedelta(days=1)) == 0
    reconcile_period_close(now=first_of_december)
    reconcile_daily(now=first_of_december)
    runs = set(ReconciliationRun.objects.values_list("period", "trigger"))
    assert ("2026-11", Trigger.PERIOD_CLOSE) in runs and ("2026-12", Trigger.DAILY) in runs
    assert Gap.objects.filter(period="2026-11").count() == 6
