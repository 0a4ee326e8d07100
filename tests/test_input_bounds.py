"""No input can break a workspace: every value from outside is bounded, out of bounds is a 4xx that says
where, nothing is written, and what was stored before the bounds still shows."""

import json
from decimal import Decimal

import pytest
from django.db import connection

from opsview.common import bounds
from opsview.queues.models import ExceptionItem
from opsview.records.models import Invoice
from opsview.telemetry.models import SyncEvent, SyncRun
from tests.conftest import keep_stakes, signed_in
from tests.queue_support import failure, only_exception, send
from tests.replay_support import failing_to, webhook_system

EVENTS = "/api/v1/sync-events/"
INVOICES = "/api/v1/states/invoices/"
BIG = 2**63


def post(api, url, *items):
    return api.post(url, {"items": list(items)}, format="json")


def errors_of(response):
    assert response.status_code == 400, response.content
    return {(e.get("index"), e["field"]) for e in response.json()["errors"]}


def nested(depth):
    value = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"down": value}
    return value


class Nested:
    """A payload nested deeper than JSON encoders in Python go: written out as text."""

    def __init__(self, depth):
        self.text = '{"down":' * (depth - 1) + '{"leaf":1}' + "}" * (depth - 1)


def post_raw(api, url, *items):
    """POST items whose Nested payloads are spliced in as text."""
    texts = {}
    for n, item in enumerate(items):
        for key, value in item.items():
            if isinstance(value, Nested):
                texts[f"@nested{n}@"] = value.text
                item[key] = f"@nested{n}@"
    body = json.dumps({"items": list(items)})
    for marker, text in texts.items():
        body = body.replace(f'"{marker}"', text)
    return api.post(url, body, content_type="application/json")


@pytest.mark.parametrize("amount", ["1e300", "123456789012345678901234567890", "NaN", "-Infinity", 1e300])
def test_a_failed_event_with_an_absurd_amount_leaves_the_queue_readable(client, api, northwind, olivia, amount):
    send(api, failure("TE-X", payload={"amount": amount, "currency": "EUR"}))

    item = only_exception(northwind, external_id="TE-X")
    assert item.amount == 0  # no amount, as for a payload amount that is not a number
    signed_in(client, olivia)
    assert client.get("/queues/").status_code == 200
    assert client.get(f"/queues/{item.pk}/").status_code == 200


def test_an_amount_stored_out_of_bounds_before_the_fix_is_cleared_by_the_migration(client, api, northwind, olivia):
    """SQLite kept whatever it was given; such a row made every queue page of the workspace fail."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's numeric(14, 2) never stored such an amount")
    send(api, failure("TE-Y"))
    item = only_exception(northwind, external_id="TE-Y")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE queues_exceptionitem SET amount = 1e300 WHERE id = %s", [item.pk])
    from importlib import import_module

    migration = import_module("opsview.queues.migrations.0004_amounts_within_bounds")

    class Editor:
        connection = connection

    from django.apps import apps

    migration.clear_out_of_bounds_amounts(apps, Editor())
    keep_stakes(northwind)  # kept from a later migration on, which reads the amounts this one cleared
    assert ExceptionItem.objects.get(pk=item.pk).amount == 0
    assert signed_in(client, olivia).get("/queues/").status_code == 200


@pytest.mark.parametrize(
    "field, value",
    [
        ("occurred_at", "0001-01-01T00:00:00+01:00"),
        ("occurred_at", "9999-12-31T23:59:59-01:00"),
        ("occurred_at", "1899-12-31T23:59:59Z"),
        ("run", BIG),
        ("run", 10**30),
        ("payload", nested(bounds.MAX_JSON_DEPTH + 1)),
        ("payload", Nested(300)),
        ("payload", Nested(1000)),
        ("payload", {"notes": "x" * (bounds.MAX_PAYLOAD_BYTES + 1)}),
        ("error_message", "x" * 4001),
    ],
    ids=[
        "year-1",
        "year-9999",
        "before-1900",
        "run-2**63",
        "run-30-digits",
        "depth-33",
        "depth-300",
        "depth-1000",
        "payload-bytes",
        "message-length",
    ],
)
def test_an_event_out_of_bounds_is_refused_by_index_and_field(api, northwind, field, value):
    good, bad = failure("TE-1"), failure("TE-2")
    bad[field] = value
    response = post_raw(api, EVENTS, good, bad)

    if response.status_code == 400 and "errors" not in response.json():
        # Nested past what the JSON parser takes at all: refused as a body, still before anything is written.
        assert "JSON" in response.json()["detail"]
    else:
        assert errors_of(response) == {(1, field)}
    assert not SyncEvent.objects.filter(external_id__in=["TE-1", "TE-2"]).exists()


def test_an_event_at_the_bounds_is_taken(api, northwind):
    send(api, failure("TE-1", occurred_at="1900-01-01T00:30:00+01:00", payload=nested(bounds.MAX_JSON_DEPTH)))
    assert SyncEvent.objects.filter(external_id="TE-1").exists()


def invoice(n, **overrides):
    item = {
        "external_id": f"INV-{n}",
        "version": 1,
        "number": f"2026-{n}",
        "client": "C-1",
        "amount": "100.00",
        "currency": "EUR",
        "status": "issued",
        "issue_date": "2026-11-01",
    }
    item.update(overrides)
    return item


@pytest.mark.parametrize(
    "field, value",
    [
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "1e300"),
        ("amount", "1000000000000"),  # 13 digits: numeric(14, 2) holds 12 before the point
        ("amount", "1" * 80),
        ("amount", "0.001"),
        ("version", BIG),
        ("issue_date", "0001-01-01"),
        ("issue_date", "9999-12-31"),
        ("posted_at", "9999-12-31T23:59:59-01:00"),
        ("client", "C" * 129),
    ],
)
def test_a_state_out_of_bounds_is_refused_by_index_and_field(api, northwind, field, value):
    response = post(api, INVOICES, invoice(1), invoice(2, **{field: value}))

    assert errors_of(response) == {(1, field)}
    assert not Invoice.objects.exists()


def test_the_largest_amount_a_column_holds_is_taken_and_read_back(api, northwind):
    response = post(api, INVOICES, invoice(1, amount="999999999999.99"), invoice(2, amount=-999999999999.99))
    assert response.status_code == 200, response.content
    assert Invoice.objects.get(external_id="INV-1").amount == Decimal("999999999999.99")


@pytest.mark.parametrize("field", ["records_total", "records_failed"])
@pytest.mark.parametrize("value", [BIG, 2**31], ids=["2**63", "2**31"])  # counters are 32-bit columns
def test_run_counters_beyond_their_column_are_refused(api, northwind, field, value):
    started = api.post(
        "/api/v1/sync-runs/",
        {"flow": "f", "source_system": "harvest", "target_system": "tryton", "records_total": value},
        format="json",
    )
    assert started.status_code == 400 and started.json()["errors"][0]["field"] == "records_total"
    run = api.post(
        "/api/v1/sync-runs/", {"flow": "f", "source_system": "harvest", "target_system": "tryton"}, format="json"
    ).json()
    response = api.patch(f"/api/v1/sync-runs/{run['id']}/", {field: value}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field
    assert getattr(SyncRun.objects.get(pk=run["id"]), field) in (None, 0)


@pytest.mark.parametrize("query", ["limit=" + "9" * 20, "offset=" + "9" * 20, "limit=-1", "limit=abc"])
def test_a_page_size_out_of_range_is_a_400_that_names_it(api, northwind, query):
    response = api.get(f"/api/v1/sync-runs/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in str(response.json())


def test_a_page_size_in_range_pages(api, northwind):
    assert api.get("/api/v1/sync-runs/?limit=1&offset=0").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/dashboards/executive/?client=" + "9" * 20,
        "/dashboards/executive/?start=0001-01-01&end=0001-01-31",
        "/dashboards/executive/?start=9999-12-01&end=9999-12-31",
        "/records/time-entries/?project=" + "9" * 20,
        "/api/v1/kpis/unapproved-time-aging/?start=9999-12-01&end=9999-12-31",
        "/api/v1/kpis/unapproved-time-aging/?system=" + str(BIG),
    ],
)
def test_dashboard_filters_out_of_range_are_a_400_not_a_500(client, northwind, erin, url):
    response = signed_in(client, erin).get(url)

    assert response.status_code in (400, 404), response.status_code


def test_dashboard_filters_at_the_ends_of_the_documented_range_work(client, northwind, erin):
    signed_in(client, erin)
    assert client.get("/dashboards/executive/?start=2200-12-01&end=2200-12-31").status_code == 200
    assert client.get("/dashboards/executive/?start=1900-01-01&end=1900-01-31").status_code == 200


@pytest.mark.parametrize("name", ["client", "project", "system", "assignee"])
def test_queue_filters_with_ids_no_row_could_have_are_named_not_a_500(client, northwind, olivia, name):
    signed_in(client, olivia)
    page = client.get(f"/queues/?{name}={'9' * 20}")
    assert page.status_code == 200
    export = client.get(f"/queues/export.csv?{name}={'9' * 20}")  # a file would silently ignore the filter
    assert export.status_code == 400 and name in export.content.decode().lower()


def test_queue_actions_on_ids_no_row_could_have_do_nothing(client, api, northwind, olivia):
    send(api, failure("TE-Z"))
    signed_in(client, olivia)
    for form in ({"one": "9" * 20}, {"ids": ["9" * 20]}, {"group": "9" * 20}, {"quick": "claim:" + "9" * 20}):
        response = client.post("/queues/actions/", {"action": "claim", **form})
        assert response.status_code in (302, 404), (form, response.status_code)
    assert only_exception(northwind, external_id="TE-Z").assignee_id is None


def test_a_payload_edit_nested_100000_deep_is_a_form_message(client, api, northwind, olivia, server):
    item = failing_to(api, northwind, webhook_system(northwind, server), "TE-N")["TE-N"]
    page = signed_in(client, olivia).post(
        f"/replays/exceptions/{item.pk}/edit/", {"payload": "[" * 100_000 + "]" * 100_000}, follow=True
    )

    assert page.status_code == 200
    assert f"payload: must not nest objects and arrays more than {bounds.MAX_JSON_DEPTH} levels deep" in (
        page.content.decode()
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ("1e300", "digits before the decimal point"),
        ("NaN", "finite"),
        (float("inf"), "finite"),
        (True, "must be a number"),
        ("1.005", "decimal places"),
        ("9" * 100, "digits"),
        (10**400, "digits"),
    ],
)
def test_the_bounded_number_helper_says_which_bound(value, message):
    with pytest.raises(bounds.OutOfBounds, match=message):
        bounds.bounded_decimal(value)


def test_the_bounded_helpers_accept_what_is_in_range():
    assert bounds.bounded_decimal("-999999999999.99") == Decimal("-999999999999.99")
    assert bounds.money_or_none("12.345") == Decimal("12.34")
    assert bounds.money_or_none("1e300") is None
    assert bounds.bounded_int(str(bounds.INT64_MAX)) == bounds.INT64_MAX
    assert bounds.id_or_none(str(bounds.INT64_MAX + 1)) is None
    assert bounds.bounded_datetime("2200-12-31T23:59:59-01:00").year == 2200
    assert not bounds.json_depth_exceeds(nested(bounds.MAX_JSON_DEPTH))
    assert bounds.json_depth_exceeds(nested(bounds.MAX_JSON_DEPTH + 1))


PAGES = [
    "/",
    "/runs/",
    "/queues/",
    "/queues/export.csv",
    "/replays/",
    "/audit/",
    "/dashboards/executive/",
    "/dashboards/projects/",
    "/dashboards/portfolio/",
    "/records/time-entries/",
    "/records/sync-events/",
    "/dashboards/executive/aging.csv",
    "/api/v1/kpis/unapproved-time-aging/",
    "/api/v1/kpis/billing-lag/",
]
PARAMS = [
    "page",
    "start",
    "end",
    "client",
    "project",
    "manager",
    "system",
    "target",
    "day",
    "since",
    "until",
    "assignee",
    "age",
    "status",
    "actor",
    "kind",
    "batch",
    "limit",
    "offset",
    "period",
    "lag",
    "state",
]
EXTREMES = ["9" * 20, "0001-01-01", "9999-12-31", "1e300"]


@pytest.mark.parametrize("page", PAGES)
def test_no_query_parameter_value_makes_a_page_fail(client, api, northwind, ada, page):
    """The class, not the examples: every page a person or a script opens, every parameter it reads."""
    send(api, failure("TE-Q"))
    signed_in(client, ada)
    for name in PARAMS:
        for value in EXTREMES:
            response = client.get(page, {name: value})
            assert response.status_code < 500, (page, name, value, response.status_code)


def test_an_out_of_range_value_that_slips_past_a_form_is_a_400_not_a_500(rf):
    from opsview.common.outofrange import OutOfRangeMiddleware

    middleware = OutOfRangeMiddleware(lambda request: None)
    page = middleware.process_exception(rf.get("/records/sync-events/"), OverflowError("int too big"))
    api = middleware.process_exception(rf.get("/api/v1/sync-runs/"), RecursionError())
    assert page.status_code == api.status_code == 400
    assert "out of range" in page.content.decode() and "out of range" in json.loads(api.content)["detail"]
    assert middleware.process_exception(rf.get("/"), ValueError("a bug")) is None  # other errors stay errors
