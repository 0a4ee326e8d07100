"""End to end with a real Tryton: a posting fails for a real reason, the cause is fixed, the operator replays."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.tryton import TrytonConnector
from opsview.audit.models import AuditEntry
from opsview.demo.erp.env import tools
from opsview.kpis.reconciled import reconciled_share
from opsview.kpis.scope import Scope
from opsview.kpis.sync import sync_success_totals
from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice, Posting, TimeEntry
from opsview.records.sides import erp_amount
from opsview.replay.models import Replay
from opsview.replay.tasks import run_replay
from tests.queue_support import failure, send
from tests.replay_support import run_queued

pytestmark = pytest.mark.tryton


@pytest.fixture
def tryton(northwind, tryton_server):
    """Northwind's ERP, set up to post to the test's trytond, confirming Tryton's warnings as its user."""
    system = northwind.erp
    system.vendor = "tryton"
    system.connector_settings = {
        "url": tryton_server.url,
        "database": tryton_server.database,
        "username": "admin",
        "accept_warnings": True,
    }
    system.credentials = {"password": tryton_server.password}
    system.save()
    return system


def connect(server):
    return TrytonConnector(server.url, server.database, server.username, server.password)


def test_an_invoice_refused_for_a_missing_period_is_replayed_after_the_fix_and_read_back_posted(
    client, api, northwind, olivia, tryton, tryton_server
):
    invoice_id = str(tryton_server.ids["invoice"])
    # The billing-to-ERP job tries to post the invoice; Tryton refuses: no fiscal period for its date.
    with connect(tryton_server) as erp:
        refused = erp.send("invoice", {"external_id": invoice_id}, "job-run-1")
        record = {k: v for k, v in erp.read_back("invoice", invoice_id).items() if k != "state"}
    assert not refused.ok and "you must create a period" in refused.error_message
    send(api, failure(invoice_id, refused.error_message, refused.error_code, record_type="invoice", payload=record))

    client.force_login(olivia)
    item = ExceptionItem.objects.get(workspace=northwind.workspace, external_id=invoice_id)
    assert (item.status, item.system, item.kind) == ("open", tryton, "posting_failure")
    queue = client.get("/queues/").content.decode()
    assert f'<a href="/queues/{item.pk}/" title="{item} · ' in queue and f">{item}</a>" in queue  # its title

    tryton_server.open_fiscal_year("2026-10-31")  # the cause, fixed in Tryton
    response = client.post("/replays/request/", {"one": item.pk}, follow=True)
    assert "1 replay queued." in response.content.decode()
    assert run_queued() == ["succeeded"]

    with connect(tryton_server) as erp:
        back = erp.read_back("invoice", invoice_id)
    assert back["state"] == "posted" and not back["number"].startswith("draft-")
    replay = Replay.objects.get()
    item.refresh_from_db()
    assert (replay.status, replay.verified, replay.result["state"]) == ("succeeded", True, "posted")
    assert (item.status, item.resolution, item.resolved_by) == ("resolved", "replayed", olivia)
    resolve = AuditEntry.objects.get(action="exception.resolve", target_id=str(item.pk))
    assert resolve.actor == olivia and resolve.after["verified"] is True
    assert resolve.note == "Replayed to Tryton; verified by reading it back."
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert "Succeeded" in page and "exception.replay" in page
    # Tryton holds the invoice now: opsview records its posting there, as Tryton read it back.
    posting = Posting.objects.get()
    assert (posting.system, posting.external_id, posting.record_type) == (tryton, invoice_id, "invoice")
    assert (posting.source_system, posting.source_external_id) == (northwind.harvest, invoice_id)
    assert (posting.amount, posting.number) == (Decimal(back["amount"]), back["number"])

    # Asked again, Tryton already has it posted: nothing is posted twice, and there is still one posting.
    item.status = "open"
    item.save()
    client.post("/replays/request/", {"one": item.pk})
    assert run_queued() == ["duplicate"]
    item.refresh_from_db()
    assert item.resolution == "duplicate"
    assert list(Posting.objects.values_list("external_id", flat=True)) == [invoice_id]


def test_a_refused_replay_keeps_the_posting_failure_and_a_read_back_posting_updates_opsviews_invoice(
    client, api, northwind, olivia, tryton, tryton_server
):
    invoice_id = str(tryton_server.ids["invoice"])
    issued = (timezone.localdate() - timedelta(days=5)).isoformat()
    # opsview's copy of the billing invoice: issued five days ago and not posted, so it is an exception too.
    billed = {
        "external_id": "I-7",
        "version": 1,
        "number": "2026-I-7",
        "client": "C-1",
        "project": "PR-1",
        "amount": "4800.00",
        "currency": "EUR",
        "status": "issued",
        "issue_date": issued,
    }
    response = api.post("/api/v1/states/invoices/", {"items": [billed]}, format="json")
    assert response.status_code == 200, response.content
    unposted = ExceptionItem.objects.get(workspace=northwind.workspace, kind="unposted_invoice")
    with connect(tryton_server) as erp:
        refused = erp.send("invoice", {"external_id": invoice_id}, "job-run-1")
    send(
        api,
        failure(
            "I-7", refused.error_message, refused.error_code, record_type="invoice", payload={"external_id": invoice_id}
        ),
    )
    item = ExceptionItem.objects.get(workspace=northwind.workspace, kind="posting_failure")
    what = (item.kind, item.group_id, item.group.fingerprint, item.error_code, item.error_message)
    today = timezone.localdate()
    scope = Scope(workspace=northwind.workspace, start=today - timedelta(days=7), end=today)
    kpis = sync_success_totals(scope)

    # Replayed before the fix, Tryton refuses again: the exception stays what it was, the KPIs too.
    client.force_login(olivia)
    client.post("/replays/request/", {"one": item.pk})
    assert run_queued() == ["retrying"]
    item.refresh_from_db()
    assert (item.kind, item.group_id, item.group.fingerprint, item.error_code, item.error_message) == what
    assert sync_success_totals(scope) == kpis and item.status == "open"

    tryton_server.open_fiscal_year("2026-10-31")
    assert run_replay(Replay.objects.get().pk) == "succeeded"

    invoice = Invoice.objects.get(workspace=northwind.workspace, external_id="I-7")
    with connect(tryton_server) as erp:
        back = erp.read_back("invoice", invoice_id)
    assert (invoice.status, invoice.number, invoice.erp_reference) == ("posted", "2026-I-7", back["number"])
    assert invoice.posted_at is not None
    # The ERP's side of the invoice, as reconciliation reads it: found by billing's number, at Tryton's amount.
    posting = Posting.objects.get(system=tryton)
    assert (posting.external_id, posting.number, posting.source_external_id) == (invoice_id, "2026-I-7", "I-7")
    held = Invoice.objects.annotate(held=erp_amount()).get(pk=invoice.pk).held
    assert held == Decimal(back["amount"])
    unposted.refresh_from_db()
    item.refresh_from_db()
    assert (item.status, unposted.status) == ("resolved", "resolved")
    assert sync_success_totals(scope) == kpis
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert "Attempt history" in page and "Accepted" in page and "Refused" in page


def test_a_time_entry_replayed_into_tryton_closes_its_gap_in_the_reconciled_share(
    client, api, northwind, olivia, tryton_firm
):
    """Non-billable approved time the ERP refused for a closed timesheet period: the replay reconciles it."""
    erp = northwind.erp
    erp.vendor = "tryton"
    erp.connector_settings = {
        "url": tryton_firm.url,
        "database": tryton_firm.database,
        "username": tryton_firm.username,
        "accept_warnings": True,
    }
    erp.credentials = {"password": tryton_firm.password}
    erp.save()
    TimeEntry.objects.filter(system=northwind.harvest, external_id="TE-PR-1").update(
        status="approved", billable=False, hours=Decimal("2.5"), work_date=date(2026, 10, 20)
    )
    line = {"company": "NW01", "person": "E-101", "project": "NW-0401", "date": "2026-10-20", "duration": 2.5}
    with connect(tryton_firm) as tryton:
        refused = tryton.send("time_entry", line, "te2erp-run-1")
    assert refused.error_code == "TIMESHEET_PERIOD_CLOSED"
    send(api, failure("TE-PR-1", refused.error_message, refused.error_code, payload=line))
    october = Scope(workspace=northwind.workspace, start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert (reconciled_share(october)["approved_hours"], reconciled_share(october)["share"]) == (Decimal("2.50"), 0.0)

    # The accountant opens the project's timesheets back to October in Tryton; the operator replays.
    venv, rpc = tryton_firm.venv, tryton_firm.rpc_url(tryton_firm.database)
    reopen = ("reopen-timesheets", rpc, tryton_firm.username, tryton_firm.password, "NW-0401", "2026-10-01")
    tools(venv, *reopen, what="reopening the timesheets")
    item = ExceptionItem.objects.get(workspace=northwind.workspace, external_id="TE-PR-1")
    client.force_login(olivia)
    client.post("/replays/request/", {"one": item.pk})
    assert run_queued() == ["succeeded"]

    posting = Posting.objects.get()
    with connect(tryton_firm) as tryton:
        held = tryton.read_back("time_entry", posting.external_id)
    assert (posting.system, posting.record_type, posting.source_external_id) == (erp, "time_entry", "TE-PR-1")
    assert (posting.hours, posting.posted_on, held["hours"]) == (Decimal("2.50"), date(2026, 10, 20), "2.50")
    assert reconciled_share(october) | {"entries": None} == reconciled_share(october) | {
        "entries": None,
        "erp_hours": Decimal("2.50"),
        "reconciled_hours": Decimal("2.50"),
        "share": 1.0,
        "erp_share": 1.0,
    }

    # Replayed again, Tryton finds the line it has: no second line, no second posting.
    ExceptionItem.objects.filter(pk=item.pk).update(status="open", resolution="")
    client.post("/replays/request/", {"one": item.pk})
    assert run_queued() == ["duplicate"]
    assert list(Posting.objects.values_list("external_id", flat=True)) == [posting.external_id]
    with connect(tryton_firm) as tryton:
        assert len(tryton.fetch_time_entries().records) == 1
