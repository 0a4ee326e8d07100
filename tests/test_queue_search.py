"""Finding and reading the queue: search by the business ids people type, titles in business words, and
a record's money counted once however many open exceptions it has."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from opsview.queues import services, state_rules
from opsview.queues.models import ExceptionItem
from opsview.records.models import Client, Invoice, Project, TimeEntry
from opsview.systems.models import ApiToken, System
from tests.conftest import signed_in
from tests.queue_support import exceptions, failure, only_exception, send

INVOICE_UUID = "9f3c2a51-7d4e-4b8a-a0f1-3c5e9d2b7a64"
ENTRY_UUID = "5b1e8c0a-2f6d-4e93-b7a2-d48c1f0e6a35"


@pytest.fixture
def kestrel(northwind):
    """Kestrel's project NW-0451: an approved, uninvoiced time entry that also failed to post to the ERP, and an
    issued invoice (titled by its Xero UUID in Xero) that also failed to post."""
    ws = northwind.workspace
    xero = System.objects.create(workspace=ws, slug="xero", name="Xero", kind="billing", vendor="xero")
    client = Client.objects.create(workspace=ws, system=northwind.harvest, external_id="C-K", name="Kestrel Marine")
    project = Project.objects.create(
        workspace=ws,
        system=northwind.harvest,
        external_id="PR-K",
        code="NW-0451",
        name="Harbour Rebuild",
        client=client,
    )
    today = timezone.localdate()
    entry = TimeEntry.objects.create(
        workspace=ws,
        system=northwind.harvest,
        external_id=ENTRY_UUID,
        person=northwind.worker,
        project=project,
        work_date=today - timedelta(days=40),
        hours=Decimal("7.5"),
        bill_rate=Decimal("150"),
        currency="EUR",
        status="approved",
        approved_at=timezone.now() - timedelta(days=30),
    )
    invoice = Invoice.objects.create(
        workspace=ws,
        system=xero,
        external_id=INVOICE_UUID,
        number="INV-2026-0154",
        client=client,
        project=project,
        amount=Decimal("12345.00"),
        currency="EUR",
        status="issued",
        issue_date=today - timedelta(days=10),
    )
    state_rules.scan_workspace(ws)  # approved-not-invoiced time, invoice-not-posted
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(xero, 'billing to ERP')[1]}")
    send(
        api,
        failure(
            INVOICE_UUID,
            record_type="invoice",
            source_system="xero",
            target_system="tryton",
            message="Account 8400 is blocked for posting",
            code="ACCOUNT_BLOCKED",
            payload={"amount": "12345.00", "currency": "EUR"},
        ),
    )
    harvest_api = APIClient()
    harvest_api.credentials(HTTP_AUTHORIZATION=f"Bearer {northwind.raw_token}")
    send(harvest_api, failure(ENTRY_UUID))
    return client, project, entry, invoice


def listed(http, **params):
    response = http.get("/queues/", params)
    assert response.status_code == 200
    return response


def found(http, q):
    """The exception ids the queue search finds for ``q``, read from the page and from the CSV export."""
    page = {x.pk for x in listed(http, q=q, status="all").context["page"].object_list}
    response = http.get("/queues/export.csv", {"q": q, "status": "all"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(r["id"]) for r in rows} == page, "the page and its CSV must find the same exceptions"
    return page


def test_the_search_finds_an_exception_by_the_business_ids_people_type(client, northwind, olivia, kestrel):
    signed_in(client, olivia)
    of_kestrel = set(exceptions(northwind, client__name="Kestrel Marine").values_list("pk", flat=True))
    of_invoice = set(
        exceptions(northwind, record_type="invoice", external_id=INVOICE_UUID).values_list("pk", flat=True)
    )
    of_entry = set(exceptions(northwind, external_id=ENTRY_UUID).values_list("pk", flat=True))
    assert len(of_kestrel) == 4 and len(of_invoice) == 2 and len(of_entry) == 2

    assert found(client, "NW-0451") == of_kestrel  # project code
    assert found(client, "harbour rebuild") == of_kestrel  # project name, any case
    assert found(client, "Kestrel") == of_kestrel  # client name
    assert found(client, "INV-2026-0154") == of_invoice  # invoice number
    assert found(client, INVOICE_UUID) == of_invoice  # external id
    assert found(client, "12,345.00") == of_invoice and found(client, "12345") == of_invoice  # amount
    posting = set(exceptions(northwind, pk__in=of_invoice, kind="posting_failure").values_list("pk", flat=True))
    assert found(client, "account 8400 is blocked") == posting  # error text
    assert of_entry <= found(client, "Wendy Worker")  # person
    assert found(client, "nothing like this") == set()
    assert found(client, "100%") == set()  # LIKE wildcards are searched for as typed


def test_titles_name_the_business_number_not_the_uuid(client, northwind, olivia, kestrel):
    signed_in(client, olivia)
    invoice_item = exceptions(northwind, kind="posting_failure", record_type="invoice").get()
    entry_item = exceptions(northwind, kind="unbilled_time").get()
    work_date = kestrel[2].work_date.isoformat()
    assert str(invoice_item) == "Invoice INV-2026-0154 · Kestrel Marine"
    assert str(entry_item) == f"Wendy Worker · {work_date} · NW-0451"

    page = listed(client, client=kestrel[0].pk).content.decode()
    assert ">Invoice INV-2026-0154 · Kestrel Marine</a>" in page
    assert f">Wendy Worker · {work_date} · NW-0451</a>" in page
    detail = client.get(f"/queues/{invoice_item.pk}/").content.decode()
    assert "<h1>ERP posting failure: Invoice INV-2026-0154 · Kestrel Marine" in detail
    group = client.get(f"/queues/groups/{entry_item.group_id}/").content.decode()
    assert f">Wendy Worker · {work_date} · NW-0451</a>" in group
    response = client.get("/queues/export.csv", {"client": kestrel[0].pk})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["record"] for r in rows} == {
        "Invoice INV-2026-0154 · Kestrel Marine",
        f"Wendy Worker · {work_date} · NW-0451",
    }


def test_a_failure_reported_before_its_record_gets_the_records_name_when_the_record_arrives(
    client, northwind, olivia, api
):
    send(api, failure("TE-LATE"))
    item = exceptions(northwind, external_id="TE-LATE").get()
    assert str(item) == "time_entry TE-LATE" and item.time_entry_id is None
    response = api.post(
        "/api/v1/states/time-entries/",
        {
            "items": [
                {
                    "external_id": "TE-LATE",
                    "version": 1,
                    "person": "P-W",
                    "project": "PR-1",
                    "work_date": "2026-11-16",
                    "hours": "2",
                    "billable": True,
                    "bill_rate": 100,
                    "currency": "EUR",
                    "status": "submitted",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert str(item) == "Wendy Worker · 2026-11-16 · NW1" and item.time_entry_id is not None
    signed_in(client, olivia)
    assert item.pk in found(client, "NW1 Northwind Rollout"[:3])


def test_a_records_money_counts_once_however_many_open_exceptions_it_has(client, northwind, olivia, kestrel):
    signed_in(client, olivia)
    stake = "EUR 13,470.00 at stake in 2 records, 4 exceptions"  # 7.5 h × 150 + 12,345.00, each once
    assert stake in listed(client, client=kestrel[0].pk).content.decode()
    invoice_group = exceptions(northwind, kind="posting_failure", record_type="invoice").get().group_id
    assert (
        "EUR 12,345.00 at stake in 1 record, 1 exception"
        in client.get(f"/queues/groups/{invoice_group}/").content.decode()
    )

    kpi = client.get("/api/v1/kpis/money-at-stake/", {"client": kestrel[0].pk}).json()
    assert kpi["records"] == 2 and kpi["exceptions"] == 4
    assert kpi["by_currency"] == [{"currency": "EUR", "amount": "13470.00", "records": 2, "exceptions": 4}]
    board = client.get("/dashboards/executive/", {"client": kestrel[0].pk}).content.decode()
    assert "Money at stake: 2 records, 4 open exceptions" in board and "EUR 13,470.00" in board

    # Resolving one of the invoice's two exceptions leaves its money at stake, once.
    posting = exceptions(northwind, kind="posting_failure", record_type="invoice").get()
    client.post(
        "/queues/actions/",
        {"action": "resolve", "one": posting.pk, "resolution": "fixed_at_source", "note": "account unblocked"},
    )
    assert "EUR 13,470.00 at stake in 2 records, 3 exceptions" in listed(client, client=kestrel[0].pk).content.decode()


def test_an_exception_page_links_to_the_records_other_exceptions(client, northwind, olivia, kestrel):
    signed_in(client, olivia)
    posting = exceptions(northwind, kind="posting_failure", record_type="time_entry", external_id=ENTRY_UUID).get()
    unbilled = exceptions(northwind, kind="unbilled_time").get()
    page = client.get(f"/queues/{posting.pk}/").content.decode()
    assert f'href="/queues/{unbilled.pk}/">Approved time not invoiced</a>' in page
    alone = exceptions(northwind, kind="unapproved_time").first()
    assert "None: this is the record's only exception." in client.get(f"/queues/{alone.pk}/").content.decode()


def test_the_search_does_not_match_across_a_records_ids_and_its_error(client, northwind, olivia, api):
    """The record's ids and its error are searched as one column; a search finds what either says, never words
    made by joining the end of one to the start of the other."""
    send(
        api,
        failure("TE-JOINED", code="LTD_BANK_UNKNOWN", message="Ltd bank account unknown"),
        failure("TE-REAL", code="BANK_UNKNOWN", message="Bank account of Acme Ltd unknown"),
    )
    joined = only_exception(northwind, external_id="TE-JOINED")
    real = only_exception(northwind, external_id="TE-REAL")
    ExceptionItem.objects.filter(pk=joined.pk).update(search_text="inv-77 | acme")
    signed_in(client, olivia)

    assert found(client, "INV-77") == {joined.pk}  # a business id
    assert found(client, "ltd bank account") == {joined.pk}  # words of the error
    assert found(client, "acme ltd") == {real.pk}  # only where the words really follow each other
    assert found(client, "acme\nltd") == {real.pk}  # a pasted line break is a space, not the column's separator
    assert found(client, "acme\nltd_bank") == set()


def test_a_search_finds_resolved_exceptions_among_the_resolved_and_open_ones_among_the_open(
    client, northwind, olivia, api
):
    # On PostgreSQL the search's index holds the open and snoozed exceptions only (migration 0015): a search
    # among the resolved reads them otherwise, and must find the same.
    send(api, failure("TE-OPEN", message="Kestrel period closed"), failure("TE-DONE", message="Kestrel period closed"))
    done = only_exception(northwind, external_id="TE-DONE")
    still_open = only_exception(northwind, external_id="TE-OPEN")
    services.resolve(olivia, northwind.workspace, exceptions(northwind, pk=done.pk), "fixed_at_source", "posted")
    signed_in(client, olivia)

    def ids(status):
        return {x.pk for x in listed(client, q="kestrel period", status=status).context["page"].object_list}

    assert ids("open") == ids("pending") == {still_open.pk}
    assert ids("resolved") == {done.pk}
    assert ids("all") == {done.pk, still_open.pk}
