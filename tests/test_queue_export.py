"""CSV export of the current view: the same filters, search and sort as the page, every matching row."""

import csv
import io

from tests.conftest import signed_in
from tests.queue_support import failure, send


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_holds_the_current_view_in_its_order(client, api, northwind, olivia):
    send(
        api,
        failure("TE-PR-1"),
        failure("TE-big", "Read timed out", code="TIMEOUT", payload={"amount": "9000", "currency": "EUR"}),
        failure("TE-7", "Unknown project code 'ACME-01'", code="", payload={"amount": "5"}),
    )
    rows = read_csv(signed_in(client, olivia).get("/queues/export.csv?status=open&sort=money"))

    assert [r["external_id"] for r in rows] == ["TE-big", "TE-PR-1", "TE-7"]
    first = rows[1]
    assert (first["kind"], first["status"], first["system"], first["amount"], first["currency"]) == (
        "ERP posting failure",
        "Open",
        "Tryton",
        "1125.00",
        "EUR",
    )
    assert first["client"] == "Northwind Client" and first["project"] == "NW1 Northwind Rollout"
    assert first["error_code"] == "PERIOD_CLOSED" and first["error_message"] == "Posting period 2026-10 is closed"

    filtered = read_csv(client.get("/queues/export.csv?kind=missing_mapping"))
    assert [r["external_id"] for r in filtered] == ["TE-7"]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(client, api, northwind, olivia):
    send(api, failure("TE-1", '=HYPERLINK("http://evil.example")', code=""))
    rows = read_csv(signed_in(client, olivia).get("/queues/export.csv"))

    assert rows[0]["error_message"].startswith("'=HYPERLINK")


def test_a_manager_exports_only_their_projects_and_an_outsider_nothing(client, api, northwind, max_manager, oscar):
    send(api, failure("TE-PR-1"), failure("TE-PR-2"))

    assert [r["external_id"] for r in read_csv(signed_in(client, max_manager).get("/queues/export.csv"))] == ["TE-PR-1"]
    assert read_csv(signed_in(client, oscar).get("/queues/export.csv")) == []
