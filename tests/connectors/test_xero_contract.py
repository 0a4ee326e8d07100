"""The Xero connector against Xero's published OpenAPI contracts (shared/contracts/xero).

The local server plays both Xero APIs, answering with payloads that validate against
the contracts' response schemas (Xero's own examples, varied) and recording requests
that the contracts do not allow.
"""

import copy
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import DEFAULT_OVERLAP, decode_cursor, iter_pages
from connectors.errors import ConnectorError
from connectors.http import RetryPolicy
from connectors.xero import XeroConnector, parse_xero_datetime
from tests.connectors.contracts import contract
from tests.connectors.localserver import Reply

TENANT = "0b1f4c6e-6f0a-4d55-9d43-3f1c0c9d6a11"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROUTES = [
    ("accounting", re.compile(r"/api\.xro/2\.0(/Invoices)"), "/Invoices"),
    ("accounting", re.compile(r"/api\.xro/2\.0(/Contacts)"), "/Contacts"),
    ("projects", re.compile(r"/projects\.xro/2\.0(/ProjectsUsers)"), "/ProjectsUsers"),
    ("projects", re.compile(r"/projects\.xro/2\.0/Projects/([^/]+)/Tasks"), "/Projects/{projectId}/Tasks"),
    ("projects", re.compile(r"/projects\.xro/2\.0/Projects/([^/]+)/Time"), "/Projects/{projectId}/Time"),
    ("projects", re.compile(r"/projects\.xro/2\.0(/Projects)"), "/Projects"),
]


@pytest.fixture(scope="module")
def specs():
    return {"accounting": contract("xero/xero_accounting.yaml"), "projects": contract("xero/xero-projects.yaml")}


class XeroDouble:
    """Both Xero APIs on one local server; ``data`` holds what each operation lists."""

    def __init__(self, server, specs, invoices=(), projects=(), time=None, tasks=None, contacts=(), users=()):
        self.specs, self.problems, self.tokens = specs, [], []
        self.invoices, self.projects, self.time, self.tasks = list(invoices), list(projects), time or {}, tasks or {}
        self.contacts, self.users = list(contacts), list(users)
        server.handler = self

    def __call__(self, seen):
        routed = [(api, m, template) for api, pattern, template in ROUTES if (m := pattern.fullmatch(seen.path))]
        if not routed:
            return Reply(404, {"Message": f"no route {seen.path}"})
        api, match, template = routed[0]
        spec = self.specs[api]
        self.problems += spec.request_problems(template, "get", seen, ("Authorization",))
        self.tokens.append(seen.headers.get("Authorization"))
        page = int(seen.query.get("page", ["1"])[0])
        size = int(seen.query.get("pageSize", ["100"])[0])
        body = copy.deepcopy(spec.example(template))
        if template in ("/Invoices", "/Contacts"):
            key = template.strip("/")
            body[key] = {"Invoices": self.invoices, "Contacts": self.contacts}[key][(page - 1) * size : page * size]
        else:
            items = {
                "/Projects": self.projects,
                "/ProjectsUsers": self.users,
                "/Projects/{projectId}/Tasks": self.tasks.get(match.group(1), []),
                "/Projects/{projectId}/Time": self.time.get(match.group(1), []),
            }[template]
            body["items"] = items[(page - 1) * size : page * size]
            body["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": max(1, -(-len(items) // size)),
                "itemCount": len(body["items"]),
            }
        spec.validate_response(template, "get", body)
        return Reply(200, body)


def connect(server, sleeps, **kwargs):
    kwargs.setdefault("access_token", "xero-access-token")
    return XeroConnector(
        tenant_id=TENANT,
        accounting_url=f"{server.url}/api.xro/2.0",
        projects_url=f"{server.url}/projects.xro/2.0",
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=3),
        http_options={"sleep": sleeps},
        **kwargs,
    )


def test_invoices_page_by_modification_and_map_xero_statuses(server, sleeps, specs):
    examples = specs["accounting"].example("/Invoices")["Invoices"]  # VOIDED, PAID, AUTHORISED
    double = XeroDouble(server, specs, invoices=examples)
    with connect(server, sleeps, page_size=2) as xero:
        pages = list(iter_pages(xero.fetch_invoices))
    assert double.problems == []
    assert [len(p.records) for p in pages] == [2, 1]
    assert "If-Modified-Since" not in server.seen[0].headers and server.seen[0].query["where"] == ['Type=="ACCREC"']

    voided, paid, authorised = (r for p in pages for r in p.records)
    assert (voided.status, paid.status, authorised.status) == ("void", "paid", "posted")
    assert paid.external_id == examples[1]["InvoiceID"] and paid.number == examples[1]["InvoiceNumber"]
    assert paid.client == examples[1]["Contact"]["ContactID"] and paid.currency == examples[1]["CurrencyCode"]
    assert paid.amount == Decimal(str(examples[1]["Total"])) and paid.issue_date == date(2018, 10, 20)
    assert paid.due_date == date(2018, 12, 30) and paid.paid_at == datetime(2018, 11, 29, tzinfo=UTC)
    assert voided.voided_at == voided.updated_at == parse_xero_datetime(examples[0]["UpdatedDateUTC"])

    # The next poll sends If-Modified-Since: the latest UpdatedDateUTC seen, less the overlap.
    latest = max(r.updated_at for p in pages for r in p.records)
    assert decode_cursor(pages[-1].next_cursor)["since"] == (latest - DEFAULT_OVERLAP).isoformat()
    server.seen.clear()
    with connect(server, sleeps) as xero:
        xero.fetch_invoices(pages[-1].next_cursor)
    sent = datetime.fromisoformat(server.seen[0].headers["If-Modified-Since"])
    assert sent == latest - DEFAULT_OVERLAP and double.problems == []


def test_time_entries_walk_every_project_and_then_roll_the_window(server, sleeps, specs):
    proj_spec = specs["projects"]
    first = copy.deepcopy(proj_spec.example("/Projects")["items"][0])
    second = {**copy.deepcopy(first), "projectId": "9a7a2f6e-6e0c-4f61-8d5e-3c8f2d1b0a99", "status": "CLOSED"}
    entries = proj_spec.example("/Projects/{projectId}/Time")["items"]
    task = proj_spec.example("/Projects/{projectId}/Tasks")["items"][0]  # TIME, 20.00 AUD an hour
    invoiced = {
        **copy.deepcopy(entries[0]),
        "timeEntryId": "5f1b8f8e-1c1d-4a58-9f7e-0d0e7f2b6c31",
        "projectId": second["projectId"],
        "status": "INVOICED",
    }
    double = XeroDouble(
        server,
        specs,
        projects=[first, second],
        time={first["projectId"]: entries, second["projectId"]: [invoiced]},
        tasks={first["projectId"]: [task], second["projectId"]: [task]},
    )
    tokens = itertools.count(1)
    with connect(server, sleeps, page_size=1, access_token=lambda: f"token-{next(tokens)}") as xero:
        pages = list(iter_pages(xero.fetch_time_entries))
        projects = [r for p in iter_pages(xero.fetch_projects) for r in p.records]
    assert double.problems == []
    assert len(set(double.tokens)) == len(double.tokens)  # a fresh token was read for every call

    records = [r for p in pages for r in p.records]
    assert [r.external_id for r in records] == [
        entries[0]["timeEntryId"],
        entries[1]["timeEntryId"],
        invoiced["timeEntryId"],
    ]
    mine = records[0]
    assert mine.person == entries[0]["userId"] and mine.project == first["projectId"]
    assert mine.work_date == date(2020, 2, 27) and mine.hours == Decimal("0.75")
    assert (mine.bill_rate, mine.currency, mine.billable) == (Decimal("20.00"), "AUD", True)
    assert mine.status == "approved" and mine.approved_at == parse_xero_datetime(entries[0]["dateEnteredUtc"])
    assert mine.invoice_reference == "" and records[2].invoice_reference == "INVOICED"
    assert mine.updated_at == NOW
    assert all("dateAfterUtc" not in s.query for s in server.seen if s.path.endswith("/Time"))
    assert [p.is_active for p in projects] == [True, False] and projects[0].client == first["contactId"]

    # The next scan reads the rolling window of work dates before the scan started.
    window = decode_cursor(pages[-1].next_cursor)["window"]
    assert parse_xero_datetime(window) == NOW - timedelta(days=62)
    server.seen.clear()
    with connect(server, sleeps, page_size=1) as xero:
        list(iter_pages(xero.fetch_time_entries, pages[-1].next_cursor))
    assert {s.query["dateAfterUtc"][0] for s in server.seen if s.path.endswith("/Time")} == {window}
    assert double.problems == []


def test_contacts_are_clients_by_modification_and_project_users_are_people(server, sleeps, specs):
    contacts = specs["accounting"].example("/Contacts")["Contacts"]
    users = specs["projects"].example("/ProjectsUsers")["items"]
    double = XeroDouble(server, specs, contacts=[{**contacts[0], "DefaultCurrency": "NZD"}, contacts[1]], users=users)
    with connect(server, sleeps, page_size=1) as xero:
        pages = list(iter_pages(xero.fetch_clients))
        people = [r for p in iter_pages(xero.fetch_people) for r in p.records]
    assert double.problems == []
    first, second = (r for p in pages for r in p.records)
    assert (first.external_id, first.name, first.currency) == (contacts[0]["ContactID"], contacts[0]["Name"], "NZD")
    assert first.updated_at == parse_xero_datetime(contacts[0]["UpdatedDateUTC"]) and second.currency is None
    contact_calls = [s for s in server.seen if s.path.endswith("/Contacts")]
    assert all(s.query["includeArchived"] == ["true"] for s in contact_calls)
    assert decode_cursor(pages[-1].next_cursor)["since"] == (second.updated_at - DEFAULT_OVERLAP).isoformat()
    assert [(p.external_id, p.name, p.email) for p in people] == [(u["userId"], u["name"], u["email"]) for u in users]
    assert {p.updated_at for p in people} == {NOW}


def test_a_refused_token_is_a_clear_error(server, sleeps):
    server.handler = lambda seen: Reply(401, {"Title": "Unauthorized", "Detail": "TokenExpired: token expired"})
    with connect(server, sleeps) as xero, pytest.raises(ConnectorError) as raised:
        xero.fetch_invoices()
    assert raised.value.code == "http_401" and "TokenExpired" in raised.value.message
    assert not raised.value.retryable and len(server.seen) == 1


def test_xero_dates_parse_in_both_forms():
    assert parse_xero_datetime("/Date(1539993600000+0000)/") == datetime(2018, 10, 20, tzinfo=UTC)
    assert parse_xero_datetime("2020-02-28T03:24:29.2215641Z") == datetime(2020, 2, 28, 3, 24, 29, 221564, tzinfo=UTC)
    assert parse_xero_datetime("2020-02-27T15:00:00Z") == datetime(2020, 2, 27, 15, tzinfo=UTC)
    assert parse_xero_datetime(None) is None
