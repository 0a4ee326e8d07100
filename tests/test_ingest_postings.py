"""Postings: what the ERP or billing holds for each source record, reported by the target's own token."""

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from opsview.records.models import Posting
from opsview.systems.models import ApiToken, System


@pytest.fixture
def erp_api(northwind):
    """An API client holding a token of Northwind's ERP (Tryton): the system that holds the postings."""
    _, raw = ApiToken.issue(northwind.erp, "ERP export")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def post(client, items):
    return client.post("/api/v1/states/postings/", {"items": items}, format="json")


def line(ext="TL-1", **overrides):
    """A timesheet line in the ERP carrying Harvest's time entry TE-PR-1."""
    item = {
        "external_id": ext,
        "version": 1,
        "record_type": "time_entry",
        "source_system": "harvest",
        "source_external_id": "TE-PR-1",
        "hours": "7.50",
        "posted_on": "2026-11-02",
    }
    item.update(overrides)
    return item


def invoice(ext="AI-1", **overrides):
    """An invoice posted in the ERP carrying billing's invoice INV-1, numbered 2026-0193."""
    item = {
        "external_id": ext,
        "version": 1,
        "record_type": "invoice",
        "source_system": "harvest",
        "source_external_id": "INV-1",
        "number": "2026-0193",
        "amount": "1125.00",
        "currency": "EUR",
        "posted_on": "2026-11-20",
    }
    item.update(overrides)
    return item


def test_a_batch_is_stored_in_the_tokens_system_carrying_the_named_source_records(erp_api, northwind):
    response = post(erp_api, [line(), invoice()])

    assert response.status_code == 200, response.content
    assert response.json() == {
        "received": 2,
        "created": 2,
        "updated": 0,
        "duplicates": 0,
        "stale": 0,
        "stale_items": [],
    }
    held = Posting.objects.get(external_id="TL-1")
    assert (held.workspace, held.system, held.source_system) == (northwind.workspace, northwind.erp, northwind.harvest)
    assert (held.record_type, held.source_external_id, held.hours, held.amount) == (
        "time_entry",
        "TE-PR-1",
        Decimal("7.50"),
        None,
    )
    assert (held.number, held.currency, held.posted_on, held.is_cancelled) == ("", "", date(2026, 11, 2), False)
    posted = Posting.objects.get(external_id="AI-1")
    assert (posted.number, posted.amount, posted.currency) == ("2026-0193", Decimal("1125.00"), "EUR")


def test_the_same_batch_twice_counts_duplicates_and_writes_nothing_more(erp_api):
    post(erp_api, [line(), invoice()])
    before = list(Posting.objects.order_by("external_id").values_list("received_at", flat=True))

    response = post(erp_api, [line(), invoice()])

    assert (response.json()["duplicates"], response.json()["created"]) == (2, 0)
    assert list(Posting.objects.order_by("external_id").values_list("received_at", flat=True)) == before


def test_a_newer_version_updates_and_an_older_one_is_not_applied(erp_api):
    post(erp_api, [line(version=3)])

    newer = post(erp_api, [line(version=4, hours="8.00", is_cancelled=True)])
    older = post(erp_api, [line(version=2, hours="1.00", is_cancelled=False)])

    assert newer.json()["updated"] == 1
    assert (older.json()["stale"], older.json()["stale_items"][0]["stored_version"]) == (1, 4)
    held = Posting.objects.get(external_id="TL-1")
    assert (held.hours, held.is_cancelled, held.source_version) == (Decimal("8.00"), True, 4)


def test_an_unknown_source_system_is_named_and_nothing_of_the_batch_is_written(erp_api):
    response = post(erp_api, [line("TL-1"), line("TL-2", source_system="clockify")])

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "source_system", "message": "no system 'clockify' in this workspace"}
    ]
    assert response.json()["detail"] == "1 of 2 items are invalid; nothing of the batch was written."
    assert not Posting.objects.exists()


def test_another_workspaces_system_is_unknown_here(erp_api, contoso):
    System.objects.create(workspace=contoso.workspace, slug="xero", name="Xero", kind="billing")

    response = post(erp_api, [line(source_system="xero")])

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "no system 'xero' in this workspace"


def test_each_kind_of_bad_input_names_its_index_and_field(erp_api):
    items = [
        line("TL-1", record_type="project"),
        line("TL-2", hours=None),
        invoice("AI-3", number=""),
        invoice("AI-4", amount=None),
        line("TL-5", hours="1.234"),
        line("TL-6", version=None),
        line("TL-7", posted_on="02/11/2026"),
        invoice("AI-8", currency="eur"),
        line("TL-9", source_system="tryton"),
        line("TL-10", source_system="Harvest!"),
        line("TL-11", source_external_id=""),
        line("TL-12", is_cancelled="no"),
        line("TL-13", colour="red"),
        line("", hours="2"),
    ]
    response = post(erp_api, items)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (0, "record_type"),
        (1, "hours"),
        (2, "number"),
        (3, "amount"),
        (4, "hours"),
        (5, "version"),
        (6, "posted_on"),
        (7, "currency"),
        (8, "source_system"),
        (9, "source_system"),
        (10, "source_external_id"),
        (11, "is_cancelled"),
        (12, "colour"),
        (13, "external_id"),
    ]
    messages = {e["index"]: e["message"] for e in errors}
    assert messages[1] == "is required when record_type is 'time_entry'"
    assert messages[2] == "is required when record_type is 'invoice'"
    assert messages[8] == "is this token's own system 'tryton'; name the system the carried record comes from"
    assert messages[12] == "is not a field of this record type"
    assert not Posting.objects.exists()


def test_postings_appear_in_the_openapi_schema_beside_the_other_states(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/states/postings/"]["post"]
    assert set(operation["responses"]) == set(schema["paths"]["/api/v1/states/invoices/"]["post"]["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PostingBatchRequest")
    item = schema["components"]["schemas"]["PostingRequest"]
    assert {"record_type", "source_system", "source_external_id", "hours", "amount", "posted_on"} <= set(
        item["properties"]
    )
    assert schema["components"]["schemas"]["RecordTypeEnum"]["enum"] == ["time_entry", "invoice"]


def test_without_a_token_nothing_is_written(northwind):
    response = post(APIClient(), [line()])

    assert response.status_code == 401
    assert not Posting.objects.exists()
