"""The Harvest connector against Harvest's published OpenAPI contract (shared/contracts/harvest).

A local server answers with payloads that validate against the contract's response
schemas (the vendor's own examples, varied), and refuses requests the contract does
not allow. A renamed or retyped field in our parsing, or a query parameter Harvest
does not take, fails here.
"""

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import jsonschema
import pytest

from connectors.base import DEFAULT_OVERLAP, decode_cursor, iter_pages
from connectors.harvest import HarvestConnector
from connectors.http import RetryPolicy
from tests.connectors.contracts import contract
from tests.connectors.localserver import Reply, Seen

TOKEN, ACCOUNT = "hv-token-123", "424242"
AUTH_HEADERS = ("Authorization", "Harvest-Account-Id", "User-Agent")


@pytest.fixture(scope="module")
def harvest_spec():
    return contract("harvest/harvest-openapi.yaml")


def paged(spec, resource, rows, page, total_pages):
    """A list response shaped as the contract says, checked against it before it is served."""
    body = copy.deepcopy(spec.example(f"/{resource}"))
    body.update(
        {
            resource: rows,
            "page": page,
            "total_pages": total_pages,
            "total_entries": len(rows),
            "next_page": page + 1 if page < total_pages else None,
            "previous_page": page - 1 or None,
        }
    )
    spec.validate_response(f"/{resource}", "get", body)
    return body


class HarvestDouble:
    """Serves pages of one resource and records contract problems in the requests it gets."""

    def __init__(self, server, spec, pages):
        self.spec, self.pages, self.problems = spec, pages, []
        server.handler = self

    def __call__(self, seen):
        resource = seen.path.removeprefix("/v2/")
        self.problems += self.spec.request_problems(f"/{resource}", "get", seen, AUTH_HEADERS)
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}" or seen.headers.get("Harvest-Account-Id") != ACCOUNT:
            return Reply(401, {"error": "invalid_token"})
        page = int(seen.query.get("page", ["1"])[0])
        return Reply(200, paged(self.spec, resource, self.pages[page - 1], page, len(self.pages)))


def connect(server, sleeps, **kwargs):
    return HarvestConnector(
        TOKEN,
        ACCOUNT,
        currency="EUR",
        base_url=f"{server.url}/v2",
        user_agent="opsview tests (ops@example.com)",
        retry=RetryPolicy(max_attempts=3),
        http_options={"sleep": sleeps},
        **kwargs,
    )


def entries(spec, *changes):
    example = spec.example("/time_entries")["time_entries"][0]
    return [{**copy.deepcopy(example), **change} for change in changes]


def test_time_entries_page_through_and_map_the_approval_state(server, sleeps, harvest_spec):
    example = harvest_spec.example("/time_entries")["time_entries"][0]
    first = entries(
        harvest_spec,
        {"id": 1, "is_closed": True, "updated_at": "2026-11-02T10:00:00Z"},
        {"id": 2, "is_closed": False, "is_locked": True, "updated_at": "2026-11-03T10:00:00Z"},
    )
    second = entries(
        harvest_spec,
        {"id": 3, "is_closed": False, "is_locked": False, "is_billed": False, "updated_at": "2026-11-01T09:00:00Z"},
    )
    double = HarvestDouble(server, harvest_spec, [first, second])
    with connect(server, sleeps, per_page=2) as harvest:
        pages = list(iter_pages(harvest.fetch_time_entries))
    assert double.problems == []
    assert [s.query.get("page") for s in server.seen] == [["1"], ["2"]]
    assert all("updated_since" not in s.query for s in server.seen)  # the first scan reads everything

    approved, submitted, draft = (r for p in pages for r in p.records)
    assert (approved.status, submitted.status, draft.status) == ("approved", "submitted", "draft")
    assert approved.external_id == "1" and approved.person == str(example["user"]["id"])
    assert approved.project == str(example["project"]["id"])
    assert approved.work_date == date.fromisoformat(example["spent_date"])
    assert approved.hours == Decimal(str(example["hours"]))
    assert approved.bill_rate == Decimal(str(example["billable_rate"])).quantize(Decimal("0.01"))
    assert approved.billable is example["billable"] and approved.currency == "EUR"
    assert approved.approved_at == datetime(2026, 11, 2, 10, tzinfo=UTC) and submitted.approved_at is None

    # The next poll asks for what changed since the latest update seen, less the overlap.
    final = decode_cursor(pages[-1].next_cursor)
    assert final["since"] == (datetime(2026, 11, 3, 10, tzinfo=UTC) - DEFAULT_OVERLAP).isoformat()
    server.seen.clear()
    with connect(server, sleeps, per_page=2) as harvest:
        harvest.fetch_time_entries(pages[-1].next_cursor)
    assert server.seen[0].query["updated_since"] == ["2026-11-03T09:55:00Z"]
    assert double.problems == []


def test_invoices_and_projects_map_from_the_contract_examples(server, sleeps, harvest_spec):
    invoice = harvest_spec.example("/invoices")["invoices"][0]
    project = harvest_spec.example("/projects")["projects"][0]
    double = HarvestDouble(server, harvest_spec, [[invoice]])
    with connect(server, sleeps) as harvest:
        (record,) = harvest.fetch_invoices().records
        double.pages = [[project]]
        (proj,) = harvest.fetch_projects().records
    assert double.problems == []
    assert (record.external_id, record.number, record.status) == (str(invoice["id"]), invoice["number"], "issued")
    assert record.client == str(invoice["client"]["id"]) and record.currency == invoice["currency"]
    assert record.amount == Decimal(str(invoice["amount"])) and record.issue_date == date(2017, 4, 1)
    assert record.project == str(invoice["line_items"][0]["project"]["id"])
    assert (proj.external_id, proj.name, proj.code) == (str(project["id"]), project["name"], project["code"])
    assert proj.client == str(project["client"]["id"]) and proj.is_billable and proj.is_active


def test_clients_and_users_map_from_the_contract_examples(server, sleeps, harvest_spec):
    clients = harvest_spec.example("/clients")["clients"]
    users = harvest_spec.example("/users")["users"]
    double = HarvestDouble(server, harvest_spec, [clients])
    with connect(server, sleeps) as harvest:
        first, second = harvest.fetch_clients().records
        double.pages = [users[:2], users[2:]]
        people = [r for page in iter_pages(harvest.fetch_people) for r in page.records]
    assert double.problems == []
    assert (first.external_id, first.name, first.currency) == (str(clients[0]["id"]), "123 Industries", "EUR")
    assert first.updated_at == datetime(2017, 6, 26, 21, 34, 11, tzinfo=UTC) and second.currency == "USD"
    jim = people[0]
    assert [p.external_id for p in people] == [str(u["id"]) for u in users]
    assert (jim.name, jim.email, jim.is_active) == ("Jim Allen", "jimallen@example.com", True)
    assert jim.weekly_capacity_hours == Decimal("35.00")  # 126,000 seconds
    assert [s.path for s in server.seen] == ["/v2/clients", "/v2/users", "/v2/users"]


def test_rate_limits_are_waited_out(server, sleeps, harvest_spec):
    rows = entries(harvest_spec, {"id": 9})
    server.replies = [
        Reply(429, {"message": "Too many requests"}, {"Retry-After": "15"}),
        Reply(200, paged(harvest_spec, "time_entries", rows, 1, 1)),
    ]
    with connect(server, sleeps) as harvest:
        assert [r.external_id for r in harvest.fetch_time_entries().records] == ["9"]
    assert sleeps == [15.0]


def test_the_contract_catches_a_renamed_or_retyped_field(harvest_spec):
    body = copy.deepcopy(harvest_spec.example("/time_entries"))
    body["time_entries"][0]["hours"] = "2.11"
    with pytest.raises(jsonschema.ValidationError):
        harvest_spec.validate_response("/time_entries", "get", body)
    assert "hours_tracked" not in harvest_spec.schema_of("TimeEntry")["properties"]
    for field in (
        "id",
        "spent_date",
        "user",
        "project",
        "hours",
        "billable",
        "billable_rate",
        "is_closed",
        "is_locked",
        "is_billed",
        "invoice",
        "updated_at",
    ):
        assert field in harvest_spec.schema_of("TimeEntry")["properties"], field


def test_the_contract_catches_a_request_harvest_does_not_take(harvest_spec):
    wrong = Seen("GET", "/v2/time_entries", {"updatedSince": ["2026-11-01"], "page": ["two"]}, {}, b"")
    problems = harvest_spec.request_problems("/time_entries", "get", wrong, AUTH_HEADERS)
    assert any("'updatedSince' is not in the contract" in p for p in problems)
    assert any("page=['two']" in p for p in problems)
    assert any("'Harvest-Account-Id' is missing" in p for p in problems)
