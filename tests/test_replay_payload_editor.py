"""Editing a payload before a replay: the editor shows what the target will receive, checks it against the
target's own fields, and never sends the mask text."""

import html
import json

import pytest

from opsview.audit.models import AuditEntry
from opsview.common.masking import MASK
from opsview.queues.models import ExceptionItem, Mapping
from opsview.queues.services import save_masked_fields
from opsview.replay.models import Replay
from opsview.replay.payloads import PayloadInvalid
from opsview.replay.services import request_replay
from opsview.systems.models import System
from tests.replay_support import failing_to, run_queued, webhook_system

IBAN = "DE89370400440532013000"
PAYLOAD = {
    "project": "OLD-7",
    "hours": 7.5,
    "bill_rate": 150,
    "currency": "EUR",
    "bank_account": IBAN,
    "contacts": [{"name": "Ada", "iban": IBAN}],
}


@pytest.fixture
def target(northwind, server):
    return webhook_system(northwind, server)


@pytest.fixture
def masked(northwind, ada):
    save_masked_fields(ada, northwind.workspace, ["bank_account", "iban"])


@pytest.fixture
def item(api, northwind, target, masked):
    Mapping.objects.create(
        workspace=northwind.workspace,
        kind="project",
        source_system=northwind.harvest,
        target_system=target,
        source_value="OLD-7",
        target_value="NW1",
    )
    return failing_to(api, northwind, target, "TE-9", payload=PAYLOAD)["TE-9"]


def editor_text(client, user, item):
    client.force_login(user)
    page = client.get(f"/queues/{item.pk}/").content.decode()
    start = page.index('<textarea id="replay-payload"')
    start = page.index(">", start) + 1
    return html.unescape(page[start : page.index("</textarea>", start)])


def test_the_editor_shows_what_the_target_will_receive_masked(client, northwind, olivia, item):
    shown = json.loads(editor_text(client, olivia, item))

    assert shown["project"] == "NW1" and shown["external_id"] == "TE-9"  # mappings applied, identity added
    assert shown["bank_account"] == MASK and shown["contacts"][0]["iban"] == MASK
    assert IBAN not in json.dumps(shown)


def test_masked_fields_are_sent_unchanged_unless_a_new_value_is_typed(client, northwind, olivia, item, server):
    shown = json.loads(editor_text(client, olivia, item))
    shown["hours"] = 8  # the operator's fix; the masked fields are left showing the mask

    response = client.post(f"/replays/exceptions/{item.pk}/edit/", {"payload": json.dumps(shown)})
    assert response.status_code == 302
    run_queued()
    sent = server.seen[0].json()["payload"]
    assert sent["hours"] == 8 and sent["bank_account"] == IBAN and sent["contacts"][0]["iban"] == IBAN
    assert MASK not in server.seen[0].body.decode()
    entry = AuditEntry.objects.get(action="exception.edit_payload")
    assert (entry.before["payload"]["hours"], entry.after["payload"]["hours"]) == (7.5, 8)

    # Typed over the mask, the new value is what is sent.
    ExceptionItem.objects.filter(pk=item.pk).update(status="open")
    shown["bank_account"] = "GB33BUKB20201555555555"
    client.post(f"/replays/exceptions/{item.pk}/edit/", {"payload": json.dumps(shown)})
    run_queued()
    assert server.seen[1].json()["payload"]["bank_account"] == "GB33BUKB20201555555555"


def test_the_mask_text_is_never_a_value_that_is_sent(client, northwind, olivia, item, server):
    # A masked field the record never had, or a list entry beyond the original, has no value to restore.
    for edit in ({"hours": 8, "iban": MASK}, {"contacts": [{"iban": MASK}, {"iban": MASK}]}):
        with pytest.raises(PayloadInvalid) as invalid:
            request_replay(
                olivia, northwind.workspace, ExceptionItem.objects.filter(pk=item.pk), payload_override=json.dumps(edit)
            )
        assert all(e["message"] == "still shows the mask: type the value to send" for e in invalid.value.errors)
        assert {e["field"] for e in invalid.value.errors} <= {"iban", "contacts.1.iban"}
    assert not Replay.objects.exists() and server.seen == []


@pytest.fixture
def xero(northwind):
    system = System(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing", vendor="xero")
    system.credentials = {"access_token": "xero-token", "tenant_id": "0b1f4c6e-6f0a-4d55-9d43-3f1c0c9d6a11"}
    system.save()
    return system


def test_an_edit_is_checked_against_the_targets_own_fields_naming_each(client, api, northwind, olivia, xero):
    invoice = failing_to(
        api,
        northwind,
        xero,
        "INV-7",
        record_type="invoice",
        payload={"Type": "ACCREC", "Contact": {"ContactID": "c-1"}},
    )["INV-7"]
    entry = failing_to(api, northwind, xero, "TE-7", payload={"duration": 60})["TE-7"]
    client.force_login(olivia)
    page = client.get(f"/queues/{invoice.pk}/").content.decode()
    assert "checked against the fields Xero takes for this record" in page

    edit = {"Type": "SALES", "LineItems": "ten hours", "Contact": {"ContactID": "c-1"}}
    page = client.post(f"/replays/exceptions/{invoice.pk}/edit/", {"payload": json.dumps(edit)}, follow=True)
    said = html.unescape(page.content.decode())
    assert "Type: 'SALES' is not one of" in said and "LineItems: 'ten hours' is not of type 'array'" in said
    assert "is not a field of this record type" not in said  # opsview's own ingest fields are not the target's

    with pytest.raises(PayloadInvalid) as invalid:
        request_replay(
            olivia,
            northwind.workspace,
            ExceptionItem.objects.filter(pk=entry.pk),
            payload_override=json.dumps({"duration": "an hour"}),
        )
    assert {(e["field"], e["message"]) for e in invalid.value.errors} == {
        ("duration", "'an hour' is not of type 'integer'"),
        ("userId", "is required"),
        ("taskId", "is required"),
        ("dateUtc", "is required"),
    }
    assert not Replay.objects.exists()
