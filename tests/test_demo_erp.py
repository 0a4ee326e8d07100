"""The demo's ERP is a real Tryton: seed_demo connects to it, its failures are Tryton's refusals, fixes replay.

The firm databases are built by the demo ERP's own tools for the same plans the
seed makes (a small demo), served by one trytond; ``seed_demo`` then finds it on
``OPSVIEW_DEMO_ERP_PORT``. A cause is fixed in Tryton with ``manage.py demo_erp fix``,
as the README tells an operator, and the replay posts the record.
"""

from collections import Counter
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from connectors.tryton import TrytonConnector
from opsview.demo.erp import env
from opsview.demo.erp.firms import demo_plans, erp_code
from opsview.queues.models import ExceptionItem, Mapping
from opsview.queues.policies import policies_for
from opsview.records.models import Invoice, Posting, TimeEntry
from opsview.records.sides import IN_ERP, sides_out_of_date
from opsview.replay.models import Replay
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent
from tests.demo_erp_support import SIZES, SMALL, fix
from tests.replay_support import run_queued

pytestmark = [pytest.mark.tryton, pytest.mark.django_db]
TRYTONS_CODES = {
    "UNKNOWN_PROJECT",
    "TIMESHEET_PERIOD_CLOSED",
    "EMPLOYEE_CONTRACT_ENDED",
    "UNKNOWN_TAX",
    "PERIOD_CLOSED",
    "NO_REVENUE_ACCOUNT",
}


def replay_one(client, item):
    """Replay one exception as an operator does; the exception afterwards and what Tryton holds now."""
    response = client.post("/replays/request/", {"one": item.pk}, follow=True)
    assert "1 replay queued." in response.content.decode()
    assert run_queued() == ["succeeded"]
    item.refresh_from_db()
    replay = Replay.objects.get(exception=item)
    settings = item.system.connector_settings
    with TrytonConnector(settings["url"], settings["database"], "admin", env.ADMIN_PASSWORD) as erp:
        return item, erp.read_back(item.record_type, replay.result["external_id"])


def test_seeded_tryton_failures_are_trytons_own_refusals_and_replay_after_a_fix_in_tryton(demo_erp, client):
    # Bluebird's accountant already opened every project's timesheets back to the demo's start: Tryton takes
    # the time the generator had refused for a closed timesheet period.
    bluebird = demo_plans(date.today(), SIZES)[1]
    for project in bluebird.projects:
        if project.erp_mapped_at is not None:
            fix("bluebird", "reopen-timesheets", project.code, bluebird.start.replace(day=1).isoformat())
    # ... booked the new service's revenue and reopened the demo's months: Tryton posts the invoices it refused.
    fix("bluebird", "set-revenue-account", "Advisory retainer")
    for first in (bluebird.start.replace(day=1), date.today().replace(month=1, day=1)):  # the window's two years
        fix("bluebird", "reopen-period", first.isoformat())
    out = StringIO()
    call_command("seed_demo", *SMALL, stdout=out)
    assert "Demo ERP: {" in out.getvalue() and "'northwind': {'sent': " in out.getvalue()
    call_command("backfill_queues", stdout=StringIO())
    # Each entry's sides, which the reconciled share reads, agree with what Tryton was found to hold.
    assert not sides_out_of_date(TimeEntry.objects.all()).exists()

    tryton = System.objects.get(workspace__slug="northwind", slug="tryton")
    assert tryton.connector_settings == {
        "url": demo_erp.url,
        "database": "northwind",
        "username": "admin",
        "accept_warnings": True,
        "poll_minutes": 15,
    }
    assert tryton.credentials == {"password": env.ADMIN_PASSWORD}
    with TrytonConnector(demo_erp.url, "northwind", "admin", tryton.credentials["password"]) as erp:
        assert erp.check() == "Tryton 8.2, database northwind, user admin"
    assert (tryton.connection_status, tryton.connection_detail) == ("ok", "Tryton 8.2, database northwind, user admin")
    # The firm's guides say where its demo Tryton is and how a fix is made in it.
    guide = policies_for(tryton.workspace)["posting_failure"].fix_guide
    assert f"local Tryton at {demo_erp.url}" in guide and "fix northwind reopen-period YYYY-MM-DD" in guide

    # Every open exception to Tryton is something Tryton (or the look-up in it) refused, in its words.
    open_items = ExceptionItem.objects.filter(system__slug="tryton", status="open")
    codes = Counter(open_items.values_list("error_code", flat=True))
    assert codes and set(codes) <= TRYTONS_CODES, [
        (i.workspace.slug, i.record_type, i.error_message) for i in open_items.exclude(error_code__in=TRYTONS_CODES)
    ]
    closed = open_items.filter(workspace__slug="northwind", error_code="TIMESHEET_PERIOD_CLOSED").first()
    assert closed is not None and closed.kind == "posting_failure"
    assert 'for field "Work"' in closed.error_message and "timesheet period is closed" in closed.error_message
    unknown = open_items.filter(workspace__slug="northwind", error_code="UNKNOWN_PROJECT").first()
    assert unknown.kind == "missing_mapping" and unknown.error_message.startswith("Project code '")
    # What Tryton took when the seed sent it again reached it: a succeeded event says so, nothing stays open.
    reached = SyncEvent.objects.filter(
        workspace__slug="bluebird", record_type="time_entry", outcome="succeeded", event_id__startswith="demo-erp-"
    )
    assert (
        reached.exists()
        and not open_items.filter(
            workspace__slug="bluebird", error_code__contains="PERIOD_CLOSED", record_type="time_entry"
        ).exists()
    )
    assert not open_items.filter(external_id__in=reached.values("external_id")).exists()
    # ... and Tryton holds it, with its hours, so reconciliation finds it there (tests/test_demo_postings.py).
    held = Posting.objects.filter(workspace__slug="bluebird", system__slug="tryton", record_type="time_entry")
    lines = {p.source_external_id: p.hours for p in held.filter(source_external_id__in=reached.values("external_id"))}
    assert lines.keys() == set(reached.values_list("external_id", flat=True))
    for event in reached:
        assert lines[event.external_id] == Decimal(str(event.payload["duration"]))
    assert open_items.filter(workspace__slug="northwind", error_code="TIMESHEET_PERIOD_CLOSED").exists()  # not fixed
    taken = SyncEvent.objects.filter(
        workspace__slug="bluebird", record_type="invoice", outcome="succeeded", event_id__startswith="demo-erp-"
    ).values("external_id")
    assert {i.status for i in Invoice.objects.filter(external_id__in=taken)} == {"posted"}
    # Nothing else of the firm's invoices stays open but what the ERP cannot know yet: the newest project is not set
    # up there (demo.plan), and its first invoice, once the calendar has it issued, waits with its hours.
    not_in_erp = {f"Project code '{p.code}' not found" for p in bluebird.projects if p.erp_mapped_at is None}
    waiting = open_items.filter(workspace__slug="bluebird", record_type="invoice")
    assert set(waiting.values_list("error_code", "error_message")) <= {("UNKNOWN_PROJECT", m) for m in not_in_erp}
    assert not ExceptionItem.objects.filter(external_id__in=taken, status="open").exists()  # unposted neither
    # Invoices Tryton refuses for its accounting: a closed period, a product without a revenue account.
    assert {i.kind for i in open_items.filter(record_type="invoice", error_code="PERIOD_CLOSED")} == {"posting_failure"}
    unbooked = open_items.filter(workspace__slug="northwind", error_code="NO_REVENUE_ACCOUNT")
    assert unbooked.exists() and {i.kind for i in unbooked} == {"posting_failure"}
    # The failed events of the record carry the same answer.
    events = SyncEvent.objects.filter(target_system=closed.system, external_id=closed.external_id, outcome="failed")
    assert {e.error_code for e in events} == {"TIMESHEET_PERIOD_CLOSED"}

    # The accountant reopens the project's timesheets in Tryton; the operator replays; Tryton has the line.
    payload = events.last().payload
    month = payload["date"][:8] + "01"
    assert '"timesheets_from": "' + month in fix("northwind", "reopen-timesheets", payload["project"], month)
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.post("/replays/request/", {"one": closed.pk}, follow=True)
    assert "1 replay queued." in response.content.decode()
    assert run_queued() == ["succeeded"]
    closed.refresh_from_db()
    assert (closed.status, closed.resolution) == ("resolved", "replayed")
    # The replayed entry now counts as reached the ERP in the reconciled share.
    replayed = TimeEntry.objects.get(
        workspace=closed.workspace, system=closed.source_system, external_id=closed.external_id
    )
    assert replayed.sides_held & IN_ERP
    with TrytonConnector(demo_erp.url, "northwind", "admin", env.ADMIN_PASSWORD) as erp:
        (line,) = erp.fetch_time_entries().records
        assert line.work_date.isoformat() == payload["date"] and float(line.hours) == payload["duration"]
        assert erp.lookup("time_entry", Replay.objects.get(exception=closed).idempotency_key)["external_id"] == (
            line.external_id
        )

    # The project the ERP was never told about is in Tryton under another number: the operator maps the
    # code to it (the accountant opens its timesheets back to the entry's month), and replays.
    unknown = ExceptionItem.objects.get(pk=unknown.pk)
    code = unknown.error_message.split("'")[1]
    entry = unknown.last_event.payload
    fix("northwind", "reopen-timesheets", erp_code(code), entry["date"][:8] + "01")
    Mapping.objects.create(
        workspace=unknown.workspace,
        kind="project",
        source_system=unknown.source_system,
        target_system=unknown.system,
        source_value=code,
        target_value=erp_code(code),
    )
    client.post("/replays/request/", {"one": unknown.pk})
    assert run_queued() == ["succeeded"]
    unknown.refresh_from_db()
    assert (unknown.status, unknown.resolution) == ("resolved", "replayed")
    assert Replay.objects.get(exception=unknown).mappings_applied == [
        {"field": "project", "from": code, "to": erp_code(code)}
    ]

    # An invoice dated back into a month Tryton closed: the accountant reopens the period, the replay posts it.
    backdated = open_items.filter(workspace__slug="northwind", error_code="PERIOD_CLOSED").first()
    assert backdated.error_message.startswith('To continue, you must reopen the period "')
    assert "is closed in Tryton" in backdated.error_message
    guide = client.get(f"/queues/{backdated.pk}/").content.decode()  # where in Tryton the fix is made
    assert "Fiscal Years &gt; Periods" in guide and "set Account Revenue" in guide
    assert '"state": "open"' in fix("northwind", "reopen-period", backdated.last_event.payload["date"])
    backdated, back = replay_one(client, backdated)
    assert (backdated.status, backdated.resolution, back["state"]) == ("resolved", "replayed", "posted")
    assert back["issue_date"] == backdated.last_event.payload["date"]

    # An invoice of the engagement moved to a service without a revenue account: booked in Tryton, then posted.
    unbooked = open_items.filter(workspace__slug="northwind", error_code="NO_REVENUE_ACCOUNT").first()
    assert "product 'Advisory retainer' has no revenue account in Tryton" in unbooked.error_message
    assert "Advisory retainer" in fix("northwind", "set-revenue-account", "Advisory retainer")
    unbooked, back = replay_one(client, unbooked)
    assert (unbooked.status, unbooked.resolution, back["state"]) == ("resolved", "replayed", "posted")

    # "Pull now" reads the firm's ERP with the settings the seed made.
    pulled = StringIO()
    call_command("pull", "tryton", "--workspace", "northwind", stdout=pulled)
    assert "failed" not in pulled.getvalue().lower(), pulled.getvalue()
    assert not sides_out_of_date(TimeEntry.objects.all()).exists()
