"""End to end with a real Tryton: a posting fails for a real reason, the cause is fixed, the operator replays."""

import pytest

from connectors.tryton import TrytonConnector
from opsview.audit.models import AuditEntry
from opsview.queues.models import ExceptionItem
from opsview.replay.models import Replay
from tests.queue_support import failure, send
from tests.replay_support import run_queued

pytestmark = pytest.mark.tryton


@pytest.fixture
def tryton(northwind, tryton_server):
    """Northwind's ERP, set up to post to the test's trytond, confirming Tryton's warnings as its user."""
    system = northwind.erp
    system.vendor = "tryton"
    system.connector_settings = {"url": tryton_server.url, "database": tryton_server.database, "username": "admin",
                                 "accept_warnings": True}  # fmt: skip
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
