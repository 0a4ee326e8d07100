"""Connector records map 1:1 onto what the ingest API takes, and cursors move as documented."""

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import decode_cursor, encode_cursor, iter_pages, next_since
from connectors.records import (
    INVOICE_STATUSES,
    TIME_ENTRY_STATUSES,
    ClientRecord,
    InvoiceRecord,
    Page,
    PersonRecord,
    ProjectRecord,
    TimeEntryRecord,
    hours_from_seconds,
)
from connectors.registry import CONNECTORS, build
from connectors.webhook import WebhookConnector
from opsview.ingest import schemas
from opsview.ingest.fields import clean_item
from opsview.records.models import InvoiceStatus, TimeEntryStatus


@pytest.mark.parametrize(
    "record, schema",
    [
        (ClientRecord, schemas.CLIENT),
        (PersonRecord, schemas.PERSON),
        (ProjectRecord, schemas.PROJECT),
        (TimeEntryRecord, schemas.TIME_ENTRY),
        (InvoiceRecord, schemas.INVOICE),
    ],
)
def test_record_fields_are_the_ingest_schema_fields(record, schema):
    assert {f.name for f in fields(record)} - {"raw"} == {f.name for f in schema}


def test_statuses_are_the_apps_statuses():
    assert tuple(TimeEntryStatus.values) == TIME_ENTRY_STATUSES
    assert tuple(InvoiceStatus.values) == INVOICE_STATUSES


def test_as_ingest_items_pass_the_ingest_validation():
    entry = TimeEntryRecord(
        external_id="7",
        person="E-1",
        project="P-1",
        work_date=date(2026, 11, 2),
        hours=hours_from_seconds(9000),
        currency="EUR",
        status="approved",
        bill_rate=Decimal("150.00"),
        approved_at=datetime(2026, 11, 3, 8, tzinfo=UTC),
        updated_at=datetime(2026, 11, 3, 8, tzinfo=UTC),
    )
    invoice = InvoiceRecord(
        external_id="3",
        number="INV-3",
        client="C-1",
        amount=Decimal("375.00"),
        currency="EUR",
        status="posted",
        issue_date=date(2026, 11, 5),
        updated_at=datetime(2026, 11, 5, 10, tzinfo=UTC),
    )
    project = ProjectRecord(external_id="P-1", name="Rollout", client="C-1", version=3)
    client = ClientRecord(external_id="C-1", name="Northwind Traders", currency="EUR", version=1)
    person = PersonRecord(
        external_id="E-1",
        name="Wendy Worker",
        weekly_capacity_hours=hours_from_seconds(126000),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    checks = (
        (entry, schemas.TIME_ENTRY),
        (invoice, schemas.INVOICE),
        (project, schemas.PROJECT),
        (client, schemas.CLIENT),
        (person, schemas.PERSON),
    )
    for record, schema in checks:
        errors = []
        cleaned = clean_item(schema, record.as_ingest(), errors, 0)
        assert errors == []
        assert cleaned["external_id"] == record.external_id
    assert entry.as_ingest()["hours"] == "2.50"
    assert entry.as_ingest()["approved_at"] == "2026-11-03T08:00:00Z"
    assert person.as_ingest()["weekly_capacity_hours"] == "35.00" and person.as_ingest()["email"] == ""


def test_a_status_outside_the_apps_states_is_refused():
    with pytest.raises(ValueError):
        InvoiceRecord(external_id="1", number="1", client="C", amount=Decimal(1), currency="EUR", status="open")


def test_cursor_round_trip_and_next_since_overlaps_but_never_goes_back():
    state = {"since": "2026-11-01T00:00:00+00:00", "page": 2}
    assert decode_cursor(encode_cursor(state)) == state
    assert decode_cursor(None) == {}
    with pytest.raises(ValueError):
        decode_cursor("garbage")
    overlap = timedelta(minutes=5)
    assert next_since("2026-11-02T10:00:00+00:00", None, overlap) == "2026-11-02T09:55:00+00:00"
    assert next_since("2026-11-01T00:01:00+00:00", "2026-11-01T00:00:00+00:00", overlap) == "2026-11-01T00:00:00+00:00"
    assert next_since(None, "2026-11-01T00:00:00+00:00", overlap) == "2026-11-01T00:00:00+00:00"


def test_iter_pages_follows_cursors_until_the_scan_ends():
    pages = {None: Page([1], "a", True), "a": Page([2], "b", True), "b": Page([3], "c", False)}
    assert [p.records for p in iter_pages(lambda cursor: pages[cursor])] == [[1], [2], [3]]


def test_the_registry_builds_each_connector_by_kind():
    assert set(CONNECTORS) == {"tryton", "harvest", "xero", "webhook"}
    with build("webhook", url="http://127.0.0.1:9/hook", secret="s") as hook:
        assert isinstance(hook, WebhookConnector) and hook.send_types
    with pytest.raises(ValueError, match="no connector for 'sap'"):
        build("sap")
