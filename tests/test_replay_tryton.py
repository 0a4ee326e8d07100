"""End to end with a real Tryton: a posting fails for a real reason, the cause is fixed, the operator replays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.tryton import TrytonConnector
from opsview.audit.models import AuditEntry
from opsview.kpis.scope import Scope
from opsview.kpis.sync import sync_success_totals
from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice
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
    assert f'<a href="/queues/{item.pk}/">{item}</a>' in client.get("/queues/").content.decode()  # its title

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

    # Asked again, Tryton already has it posted: nothing is posted twice.
    item.status = "open"
    item.save()
    client.post("/replays/request/", {"one": item.pk})
    assert run_queued() == ["duplicate"]
    item.refresh_from_db()
    assert item.resolution == "duplicate"


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
    unposted.refresh_from_db()
    item.refresh_from_db()
    assert (item.status, unposted.status) == ("resolved", "resolved")
    assert sync_success_totals(scope) == kpis
    page = client.get(f"/queues/{item.pk}/").content.decode()
    assert "Attempt history" in page and "Accepted" in page and "Refused" in page
