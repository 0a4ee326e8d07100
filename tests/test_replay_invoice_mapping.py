"""An invoice's codes are mapped where the invoice carries them: its client, its project, the taxes on its lines.

End to end with a real Tryton: the invoice is refused for a tax code Tryton lacks, the operator maps the
code to a tax Tryton has ("Save mapping and replay"), the dry run shows the line it changes, and the
replay posts the invoice, read back posted.
"""

import pytest

from connectors.tryton import TrytonConnector
from opsview.queues.models import ExceptionItem
from opsview.replay.models import Replay
from opsview.replay.payloads import apply_mappings
from tests.queue_support import failure, send
from tests.replay_support import run_queued

INVOICE = {
    "invoice_id": "5f0c",
    "number": "INV-2026-0042",
    "company": "NW01",
    "contact": {"code": "CL-1001", "name": "Acme Logistics"},
    "reference": "NW-0401",
    "date": "2026-11-30",
    "due_date": "2026-12-30",
    "currency": "EUR",
    "lines": [
        {
            "line": 1,
            "description": "Professional services, rate 150.00",
            "quantity": 10.5,
            "unit_amount": "150.00",
            "tax_code": "RC-EU",
            "line_amount": "1575.00",
        },
        {
            "line": 2,
            "description": "Professional services, rate 120.00",
            "quantity": 2,
            "unit_amount": "120.00",
            "tax_code": "RC-EU",
            "line_amount": "240.00",
        },
    ],
    "total_net": "1815.00",
}


def test_each_record_type_maps_the_fields_it_carries_and_says_where():
    mappings = {("tax_code", "RC-EU"): "VAT19", ("client", "CL-9"): "CL-1001", ("project", "NW-0451"): "NW-1451"}
    invoice = {**INVOICE, "contact": {"code": "CL-9"}, "reference": "NW-0451"}
    mapped, applied = apply_mappings(invoice, mappings, "invoice")
    assert [line["tax_code"] for line in mapped["lines"]] == ["VAT19", "VAT19"]
    assert (mapped["contact"], mapped["reference"]) == ({"code": "CL-1001"}, "NW-1451")
    assert {(a["field"], a["from"], a["to"]) for a in applied} == {
        ("reference", "NW-0451", "NW-1451"),
        ("contact.code", "CL-9", "CL-1001"),
        ("lines[0].tax_code", "RC-EU", "VAT19"),
        ("lines[1].tax_code", "RC-EU", "VAT19"),
    }
    assert invoice["lines"][0]["tax_code"] == "RC-EU" and invoice["contact"] == {"code": "CL-9"}  # not changed
    # A time entry names its project at the top; an invoice's "reference" means nothing there.
    entry, applied = apply_mappings({"project": "NW-0451", "reference": "NW-0451"}, mappings, "time_entry")
    assert entry == {"project": "NW-1451", "reference": "NW-0451"} and len(applied) == 1


@pytest.mark.tryton
def test_an_invoice_refused_for_an_unknown_tax_is_mapped_to_trytons_tax_and_the_replay_posts_it(
    client, api, northwind, olivia, tryton_firm
):
    erp = northwind.erp
    erp.vendor = "tryton"
    erp.connector_settings = {
        "url": tryton_firm.url,
        "database": tryton_firm.database,
        "username": "admin",
        "accept_warnings": True,
    }
    erp.credentials = {"password": tryton_firm.password}
    erp.save()
    with TrytonConnector(tryton_firm.url, tryton_firm.database, "admin", tryton_firm.password) as tryton:
        refused = tryton.send("invoice", INVOICE, "inv2erp-run-7")
    assert (refused.error_code, refused.error_message) == ("UNKNOWN_TAX", "Tax code 'RC-EU' not found")
    send(api, failure("5f0c", refused.error_message, refused.error_code, record_type="invoice", payload=INVOICE))
    item = ExceptionItem.objects.get(workspace=northwind.workspace, external_id="5f0c")
    assert (item.kind, item.group.mapping_kind, item.group.mapping_value) == ("missing_mapping", "tax_code", "RC-EU")

    client.force_login(olivia)
    dry = client.post(f"/replays/groups/{item.group_id}/map/", {"target_value": "VAT19", "then": "replay"}, follow=True)
    page = dry.content.decode()
    assert "Dry run: 1 record would be replayed" in page
    assert "lines[0].tax_code: RC-EU → VAT19<br>lines[1].tax_code: RC-EU → VAT19" in page
    done = client.post(
        "/replays/request/",
        {"ids": [item.pk], "confirm_count": "1", "selection": dry.context["plan"].selection},
        follow=True,
    )
    assert "1 replay queued." in done.content.decode()
    assert run_queued() == ["succeeded"]

    item.refresh_from_db()
    replay = Replay.objects.get(exception=item)
    assert (item.status, item.resolution, replay.verified) == ("resolved", "replayed", True)
    assert [m["field"] for m in replay.mappings_applied] == ["lines[0].tax_code", "lines[1].tax_code"]
    with TrytonConnector(tryton_firm.url, tryton_firm.database, "admin", tryton_firm.password) as tryton:
        back = tryton.read_back("invoice", replay.result["external_id"])
    assert back["state"] == "posted" and back["amount"] == "2159.85"  # 1815.00 + 19 % VAT, as Tryton computed it
