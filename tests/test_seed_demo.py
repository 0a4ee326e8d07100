"""`manage.py seed_demo` builds firms a user can explore: logins per role, time, invoices, sync failures.

The demo is seeded once for the module at a small size and flushed afterwards;
each test reads it inside its own transaction.
"""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Sum

from opsview.demo.accounts import DEMO_USERNAMES
from opsview.demo.catalog import DEMO_PASSWORD, ERROR_CODES
from opsview.demo.generator import reset_demo, seed_demo
from opsview.demo.plan import Sizes, plan_workspace
from opsview.records.models import Invoice, Person, Project, TimeEntry
from opsview.records.sides import IN_ERP, ON_INVOICE, sides_out_of_date
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Membership, Workspace
from opsview.workspaces.roles import Role

# The demo ERP is left out here (tests/test_demo_erp.py seeds with it): a trytond someone runs on the
# machine's default port must not change what these tests see.
SMALL = ("--people", "24", "--time-entries", "3000", "--sync-events", "8000", "--without-erp")

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The command's output; the data stays in the test database until the module ends."""
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("seed_demo", *SMALL, stdout=out)
        yield out.getvalue()
        call_command("flush", interactive=False, verbosity=0)


def first_workspace():
    return Workspace.objects.get(slug="northwind")


def test_two_firms_each_with_its_currency_and_three_connected_systems(demo):
    workspaces = list(Workspace.objects.order_by("name"))
    assert [(w.name, w.currency) for w in workspaces] == [("Bluebird Digital", "GBP"), ("Northwind Consulting", "EUR")]
    for workspace in workspaces:
        systems = set(System.objects.for_workspace(workspace).values_list("slug", "kind", "vendor"))
        assert systems == {
            ("harvest", "time_tracking", "harvest"),
            ("xero", "billing", "xero"),
            ("tryton", "erp", "tryton"),
        }
    assert Person.objects.count() == 24


def test_every_role_signs_in_to_the_first_firm_and_the_partner_to_both(demo, client):
    northwind = first_workspace()
    roles = dict(Membership.objects.filter(workspace=northwind).values_list("user__username", "role"))
    assert roles == {
        "admin": Role.ADMIN,
        "operator": Role.OPERATOR,
        "manager": Role.MANAGER,
        "executive": Role.EXECUTIVE,
        "partner": Role.ADMIN,
        "partnerops": Role.OPERATOR,
    }
    # The partner's staff hold their role in every firm the demo partner runs, granted by the partner.
    partner = Membership.objects.filter(user__username="partner", granted_by_partner__slug="ledgerline")
    assert sorted(partner.values_list("workspace__name", "role")) == [
        ("Bluebird Digital", Role.ADMIN),
        ("Northwind Consulting", Role.ADMIN),
    ]
    desk = Membership.objects.filter(user__username="partnerops", granted_by_partner__slug="ledgerline")
    assert sorted(desk.values_list("workspace__name", "role")) == [
        ("Bluebird Digital", Role.OPERATOR),
        ("Northwind Consulting", Role.OPERATOR),
    ]
    assert client.login(username="operator", password=DEMO_PASSWORD)
    # Seeded users share one hash, so one login proves the published password for all of them.
    assert len(set(get_user_model().objects.filter(username__in=DEMO_USERNAMES).values_list("password"))) == 1


def test_the_manager_is_the_person_who_manages_several_projects_and_sees_only_those(demo):
    manager = get_user_model().objects.get(username="manager")
    person = Person.objects.get(user=manager)
    managed = set(Project.objects.filter(manager=person))
    assert len(managed) >= 2
    assert set(Project.objects.visible_to(manager)) == managed
    visible_time = TimeEntry.objects.visible_to(manager)
    assert visible_time.exists()
    assert set(visible_time.values_list("project", flat=True).distinct()) <= {p.pk for p in managed}
    assert (manager.first_name, manager.last_name) == tuple(person.name.split(" ", 1))


def test_time_is_in_every_approval_state_and_recent_approved_time_waits_for_an_invoice(demo):
    today = date.today()
    entries = TimeEntry.objects.all()
    assert 2500 <= entries.count() <= 3500  # --time-entries 3000, approximately
    assert set(entries.values_list("status", flat=True).distinct()) == {"draft", "submitted", "approved", "rejected"}
    assert entries.filter(work_date__gt=today - timedelta(days=183)).count() == entries.count()
    assert entries.filter(work_date__gte=today - timedelta(days=7)).exists()
    unapproved = entries.filter(status__in=["draft", "submitted"])
    assert 0.01 < unapproved.count() / entries.count() < 0.2
    assert unapproved.filter(work_date__lt=today - timedelta(days=30)).exists(), "some time waits past cut-off"

    approved = entries.filter(status="approved")
    assert approved.filter(approved_at__isnull=True).count() == 0
    assert not entries.exclude(status="approved").filter(approved_at__isnull=False).exists()
    unbilled = approved.filter(billable=True, project__is_billable=True, invoice_reference="")
    assert unbilled.filter(approved_at__gte=datetime.now(UTC) - timedelta(days=14)).exists()
    assert not entries.exclude(status="approved").exclude(invoice_reference="").exists()


def test_invoiced_time_carries_an_invoice_whose_amount_is_that_time(demo):
    invoiced = TimeEntry.objects.exclude(invoice_reference="")
    assert invoiced.exists()
    totals = invoiced.values("workspace", "invoice_reference").annotate(total=Sum(F("hours") * F("bill_rate")))
    billed = {(t["workspace"], t["invoice_reference"]): t["total"] for t in totals.order_by()}
    invoices = Invoice.objects.all()
    numbers = {(i.workspace_id, i.number) for i in invoices}
    assert set(billed) <= numbers
    for invoice in invoices.exclude(status="void"):
        assert invoice.amount == billed[(invoice.workspace_id, invoice.number)].quantize(Decimal("0.01"))
        assert invoice.currency == invoice.project.client.currency
    assert not invoiced.filter(invoice_reference__in=invoices.filter(status="void").values("number")).exists()


def test_invoice_dates_follow_their_status(demo):
    statuses = Counter(Invoice.objects.values_list("status", flat=True))
    # A small demo has a score of invoices: at some hours of the month none is posted-not-yet-paid.
    assert statuses["paid"] and statuses["posted"] + statuses["issued"] + statuses["draft"]
    for invoice in Invoice.objects.all():
        if invoice.status == "draft":
            assert invoice.issue_date is None and invoice.posted_at is None
            continue
        assert invoice.due_date > invoice.issue_date
        if invoice.status in ("posted", "paid"):
            assert invoice.posted_at.date() >= invoice.issue_date - timedelta(days=1)
        if invoice.status == "paid":
            assert invoice.paid_at > invoice.posted_at
        if invoice.status == "issued":
            assert invoice.posted_at is None and invoice.paid_at is None
        if invoice.status == "void":
            assert invoice.voided_at.date() >= invoice.issue_date


def test_a_few_percent_of_sync_events_failed_with_the_erps_reasons(demo):
    events = SyncEvent.objects.all()
    assert 7000 <= events.count() <= 9000  # --sync-events 8000, approximately
    failed = events.filter(outcome="failed")
    # The draw follows the clock the demo is seeded at: 5.5-8.3 % at this size over a year of dates and a day of hours.
    assert 0.005 < failed.count() / events.count() < 0.10
    assert set(failed.values_list("error_code", flat=True).distinct()) <= set(ERROR_CODES)
    assert not failed.filter(error_message="").exists()
    assert failed.exclude(payload=None).count() == failed.count()
    assert {"time_entries_to_erp", "time_entries_to_billing", "invoices_to_erp"} == set(
        SyncRun.objects.values_list("flow", flat=True).distinct()
    )

    # A failed record often goes through in a later run; some never do, and wait in the queue.
    last = {}
    for flow, ws, external_id, outcome, occurred in events.values_list(
        "run__flow", "workspace", "external_id", "outcome", "occurred_at"
    ):
        key = (flow, ws, external_id)
        if outcome != "skipped" and (key not in last or occurred >= last[key][1]):
            last[key] = (outcome, occurred)
    ever_failed = set(failed.values_list("run__flow", "workspace", "external_id"))
    recovered = [k for k in ever_failed if last[k][0] == "succeeded"]
    still_failing = [k for k in ever_failed if last[k][0] == "failed"]
    assert recovered and still_failing


def test_each_run_tallies_its_events(demo):
    runs = SyncRun.objects.filter(records_total__gt=0)
    assert runs.exists()
    counted = Counter(SyncEvent.objects.values_list("run", "outcome"))
    for run in runs:
        assert run.records_failed == counted[(run.pk, "failed")]
        assert run.records_total == run.records_succeeded + run.records_failed + run.records_skipped
        assert (run.status == "partial") == (run.records_failed > 0 and run.finished_at is not None)


def test_without_the_demo_erp_the_tryton_systems_have_no_settings_and_the_failures_stay_generated(demo):
    tryton = System.objects.filter(slug="tryton")
    assert tryton.count() == 2 and {s.name for s in tryton} == {"Tryton ERP"}
    assert [s.connector_settings for s in tryton] == [{}, {}] and not any(s.credentials for s in tryton)
    codes = set(
        SyncEvent.objects.filter(target_system__in=tryton, outcome="failed").values_list("error_code", flat=True)
    )
    assert {"UNKNOWN_PROJECT", "PERIOD_CLOSED"} <= codes <= set(ERROR_CODES)


def open_invoice_failures(workspace):
    """``{external_id: error_code}`` of the firm's invoices whose last event to the ERP failed."""
    last = {}
    events = SyncEvent.objects.filter(workspace=workspace, record_type="invoice", target_system__slug="tryton")
    for external_id, outcome, code in (
        events.exclude(outcome="skipped")
        .order_by("occurred_at", "id")
        .values_list("external_id", "outcome", "error_code")
    ):
        last[external_id] = code if outcome == "failed" else None
    return {external_id: code for external_id, code in last.items() if code}


def test_each_firm_has_invoices_the_erp_refuses_for_a_closed_period_and_for_a_product_without_accounts(demo):
    for workspace in Workspace.objects.all():
        failing = open_invoice_failures(workspace)
        by_code = Counter(failing.values())
        assert by_code["PERIOD_CLOSED"] == 2 and 1 <= by_code["NO_REVENUE_ACCOUNT"] <= 3, (workspace.slug, by_code)
        invoices = {i.external_id: i for i in Invoice.objects.filter(workspace=workspace, external_id__in=failing)}
        assert {i.status for i in invoices.values()} == {"issued"}  # none reached the ERP, none is paid
        for external_id, code in failing.items():
            invoice = invoices[external_id]
            if code == "PERIOD_CLOSED":
                # Dated back to the last day of the month it bills, a month the ERP closed on the ninth after.
                assert (invoice.issue_date + timedelta(days=1)).day == 1
                assert invoice.source_updated_at.date() > invoice.issue_date + timedelta(days=9)  # issued then
                message = SyncEvent.objects.filter(external_id=external_id, outcome="failed").last().error_message
                assert message == f"Posting period {invoice.issue_date:%Y-%m} is closed for company " + (
                    "NW01" if workspace.slug == "northwind" else "BB01"
                )
            if code == "NO_REVENUE_ACCOUNT":
                projects = {i.project.code for i in invoices.values() if failing[i.external_id] == code}
                assert len(projects) == 1  # one engagement, moved to a service product without accounts


def test_if_empty_leaves_existing_data_alone(demo):
    before = (Workspace.objects.count(), TimeEntry.objects.count(), SyncEvent.objects.count())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "not loaded" in out.getvalue()
    assert (Workspace.objects.count(), TimeEntry.objects.count(), SyncEvent.objects.count()) == before


def test_on_postgresql_every_table_the_demo_wrote_has_statistics_for_the_planner(demo):
    # Without them a table is planned as nearly empty until autovacuum comes round (never, where it is off):
    # a year's backlog roll-up joined the invoices by nested loop, 200 times slower.
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    for model in (Invoice, Project, Person, SyncRun, TimeEntry):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            estimated = cursor.fetchone()[0]
        assert estimated == model.objects.count(), model._meta.db_table


def test_demo_logins_lists_each_login_and_copes_without_demo_data(demo):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for username in DEMO_USERNAMES:
        assert username in text
    assert DEMO_PASSWORD in text and "Northwind Consulting" in text and "Project manager" in text

    get_user_model().objects.all().delete()
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "No demo logins" in out.getvalue()


def fingerprint():
    return (
        TimeEntry.objects.count(),
        Counter(TimeEntry.objects.values_list("status", "invoice_reference")),
        TimeEntry.objects.aggregate(h=Sum("hours"))["h"],
        sorted(Invoice.objects.values_list("number", "amount", "status")),
        Counter(SyncEvent.objects.values_list("outcome", "error_code")),
    )


def test_the_same_seed_gives_the_same_data(demo):
    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    sizes = Sizes.resolve(people=16, time_entries=600)
    reset_demo()
    seed_demo(sizes, seed=7, now=now, today=now.date())
    first = fingerprint()
    reset_demo()
    seed_demo(sizes, seed=7, now=now, today=now.date())
    assert fingerprint() == first


def test_another_seed_gives_another_firm():
    today = date(2026, 11, 20)
    sizes = Sizes.resolve()
    names = [[p.name for p in plan_workspace(random.Random(f"{seed}:0"), sizes, 0, today).people] for seed in (1, 2)]
    assert names[0] != names[1] and len(names[0]) == len(names[1])


def exceptions_as_detected():
    from opsview.queues.models import ExceptionItem

    fields = ("key", "group__fingerprint", "kind", "status", "amount", "currency", "record_date", "title")
    fields += ("error_code", "error_message", "occurrences", "last_event_id", "first_seen_at", "last_seen_at")
    # The business-state rules see an exception first when they run: their times are the clock's.
    return sorted(row if row[0].startswith("sync>") else row[:-2] for row in ExceptionItem.objects.values_list(*fields))


def test_backfill_opens_the_exceptions_that_replaying_every_stored_event_opens(demo):
    """backfill_queues reads only the events that can change an exception; what it opens is what feeding
    detection every stored event, as ingest did when they arrived, opens."""
    from django.db import transaction

    from opsview.queues import state_rules
    from opsview.queues.sync_failures import on_sync_events

    with transaction.atomic():
        call_command("backfill_queues", stdout=StringIO())
        backfilled = exceptions_as_detected()
        transaction.set_rollback(True)
    assert len(backfilled) > 100
    assert {"open", "resolved"} <= {row[3] for row in backfilled}

    for workspace in Workspace.objects.all():
        events = list(SyncEvent.objects.for_workspace(workspace).order_by("occurred_at", "id"))
        for start in range(0, len(events), 1000):
            on_sync_events(workspace, events[start : start + 1000])
        state_rules.scan_workspace(workspace)
    assert exceptions_as_detected() == backfilled


def test_every_demo_entry_keeps_the_sides_its_postings_hold_which_the_reconciled_share_reads(demo):
    entries = TimeEntry.objects.all()
    assert not sides_out_of_date(entries).exists()
    # The demo's ERP and billing hold some entries' hours, both some, neither others.
    assert set(entries.values_list("sides_held", flat=True).distinct()) == {0, IN_ERP, ON_INVOICE, IN_ERP + ON_INVOICE}
