"""Integration jobs report what happened to each record; the batch is all or nothing."""

import pytest

from opsview.telemetry.models import SyncEvent

URL = "/api/v1/sync-events/"


def event(n, **overrides):
    item = {
        "event_id": f"run7-{n}",
        "record_type": "time_entry",
        "external_id": f"TE-{n}",
        "source_system": "harvest",
        "target_system": "tryton",
        "outcome": "succeeded",
        "payload": {"hours": 7.5, "project": "NW1"},
        "correlation_id": "job-42",
        "occurred_at": "2026-11-20T18:00:00Z",
    }
    item.update(overrides)
    return item


def stored(northwind):
    return SyncEvent.objects.for_workspace(northwind.workspace).exclude(event_id="ev-1")


def test_a_valid_batch_is_stored_with_every_field(api, northwind):
    failed = event(2, outcome="failed", error_code="PERIOD_CLOSED", error_message="Period 2026-10 is closed")
    response = api.post(URL, {"items": [event(1), failed]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"received": 2, "created": 2, "duplicates": 0}
    row = stored(northwind).get(event_id="run7-2")
    assert (row.outcome, row.error_code, row.error_message) == ("failed", "PERIOD_CLOSED", "Period 2026-10 is closed")
    assert row.source_system == northwind.harvest and row.target_system == northwind.erp
    assert row.payload == {"hours": 7.5, "project": "NW1"}
    assert row.correlation_id == "job-42"
    assert row.occurred_at.isoformat() == "2026-11-20T18:00:00+00:00"


def test_sending_the_same_batch_twice_changes_nothing_and_counts_duplicates(api, northwind):
    batch = {"items": [event(1), event(2), event(3)]}
    api.post(URL, batch, format="json")
    again = api.post(URL, batch, format="json")

    assert again.status_code == 200
    assert again.json() == {"received": 3, "created": 0, "duplicates": 3}
    assert stored(northwind).count() == 3


def test_a_resent_event_keeps_what_was_first_stored(api, northwind):
    api.post(URL, {"items": [event(1)]}, format="json")
    api.post(URL, {"items": [event(1, outcome="failed", error_message="changed")]}, format="json")

    assert stored(northwind).get(event_id="run7-1").outcome == "succeeded"


def test_one_invalid_item_rejects_the_batch_and_names_every_problem(api, northwind):
    items = [
        event(0),
        event(1, outcome="exploded"),
        event(2, occurred_at="2026-11-20 18:00"),
        event(3, target_system="quickbooks"),
        event(4, outcome="failed"),
        {k: v for k, v in event(5).items() if k != "external_id"},
        event(6, hourz=3),
    ]
    response = api.post(URL, {"items": items}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "6 of 7 items are invalid; nothing of the batch was written."
    problems = {(e["index"], e["field"]) for e in body["errors"]}
    assert problems == {
        (1, "outcome"),
        (2, "occurred_at"),
        (3, "target_system"),
        (4, "error_message"),
        (5, "external_id"),
        (6, "hourz"),
    }
    messages = {e["index"]: e["message"] for e in body["errors"]}
    assert "one of succeeded, failed, skipped" in messages[1]
    assert "time zone offset" in messages[2]
    assert "no system 'quickbooks'" in messages[3]
    assert stored(northwind).count() == 0


def test_an_event_must_involve_the_tokens_own_system(api, northwind):
    from opsview.systems.models import System

    System.objects.create(workspace=northwind.workspace, slug="xero", name="Xero", kind="billing")
    response = api.post(URL, {"items": [event(1, source_system="xero", target_system="tryton")]}, format="json")

    assert response.status_code == 400
    assert "this token belongs to system 'harvest'" in response.json()["errors"][0]["message"]


def test_events_may_name_a_run_of_their_own_system_only(api, northwind, contoso):
    from opsview.telemetry.models import SyncRun

    own = SyncRun.objects.for_workspace(northwind.workspace).get()
    foreign = SyncRun.objects.for_workspace(contoso.workspace).get()
    ok = api.post(URL, {"items": [event(1, run=own.pk)]}, format="json")
    refused = api.post(URL, {"items": [event(2, run=foreign.pk)]}, format="json")

    assert ok.status_code == 200
    assert stored(northwind).get(event_id="run7-1").run == own
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "index": 0,
        "field": "run",
        "message": f"no sync run {foreign.pk} reported by this system",
    }


def test_the_same_event_id_in_another_workspace_is_a_different_event(api, northwind, contoso):
    from rest_framework.test import APIClient

    contoso_api = APIClient()
    contoso_api.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    api.post(URL, {"items": [event(1)]}, format="json")
    response = contoso_api.post(URL, {"items": [event(1)]}, format="json")

    assert response.json()["created"] == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ([], "The body must be a JSON object with an 'items' list."),
        ({"events": []}, "The body must be a JSON object with an 'items' list."),
        ({"items": []}, "The 'items' list is empty; send at least one item."),
        ({"items": [], "run": 3}, "Unknown top-level field(s): run. Only 'items' is allowed."),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_with_its_shape(api, body, message):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == message


def test_a_batch_over_the_item_limit_gets_413_naming_the_limit(api, northwind):
    response = api.post(URL, {"items": [event(n) for n in range(1001)]}, format="json")

    assert response.status_code == 413
    assert "at most 1000 items; this one has 1001" in response.json()["detail"]
    assert stored(northwind).count() == 0


def test_a_full_batch_of_1000_is_accepted(api, northwind):
    response = api.post(URL, {"items": [event(n) for n in range(1000)]}, format="json")

    assert response.status_code == 200
    assert stored(northwind).count() == 1000


def test_an_oversized_body_gets_413_naming_the_limit(api, settings):
    settings.INGEST_MAX_BODY_BYTES = 2048
    response = api.post(URL, {"items": [event(1, payload={"notes": "x" * 4000})]}, format="json")

    assert response.status_code == 413
    assert "at most 2048 bytes" in response.json()["detail"]


def test_non_json_gets_415(api):
    response = api.post(URL, "event_id,outcome\n1,failed", content_type="text/csv")

    assert response.status_code == 415
    assert "text/csv" in response.json()["detail"]


def test_malformed_json_gets_400_saying_so(api):
    response = api.post(URL, '{"items": [', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


def test_nul_characters_are_refused_by_name_on_every_database(api, northwind):
    items = [event(0), event(1, error_message="bad\x00byte", outcome="failed"), event(2, payload={"note": "a\x00b"})]
    response = api.post(URL, {"items": items}, format="json")

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "error_message"), (2, "payload")]
    assert "NUL" in response.json()["errors"][1]["message"]
    assert stored(northwind).count() == 0


VALID_ITEMS = [
    event(1),
    event(2, outcome="failed", error_code="E1", error_message="Période close ✓", payload={"a": [1, {"b": None}]}),
    event(3, run=None, payload=None, correlation_id=None, error_code=None),  # nulls: the field-by-field check's
    event(4, occurred_at="2026-11-20T18:00:00.123456789+01:00:30"),  # an offset with seconds, nanoseconds
    event(5, occurred_at="2026-11-20 18:00:00-05:00", external_id=" spaced ", event_id="😀" * 128),
    event(
        6, record_type="time_entry\n", payload={"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    ),
]


@pytest.mark.parametrize("item", VALID_ITEMS, ids=range(len(VALID_ITEMS)))
def test_a_valid_item_is_cleaned_alike_by_the_compiled_check_or_field_by_field(item):
    from opsview.ingest.fields import clean_item, quick_clean
    from opsview.ingest.schemas import SYNC_EVENT

    errors = []
    by_field = clean_item(SYNC_EVENT, item, errors, 0)
    assert errors == []
    # The compiled check cleans the item alike, or leaves it to the field-by-field check (None): it
    # leaves only a null where a default is due.
    expected = None if item["event_id"] == "run7-3" else [by_field]
    assert quick_clean(SYNC_EVENT, [item]) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {"outcome": "lost"},
        {"occurred_at": "2026-11-20t18:00:00z"},
        {"occurred_at": "2026-11-20T18:00:00"},
        {"occurred_at": "1899-12-31T23:00:00Z"},
        {"run": True},
        {"run": 2**63},
        {"event_id": " "},
        {"external_id": "\u2003\n"},
        {"record_type": "time entry"},
        {"record_type": ""},
        {"target_system": "-tryton"},
        {"correlation_id": "job\x00"},
        {"payload": {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
        {"event_id": "x" * 129},
        {"error_message": "nul\x00"},
        {"payload": [1]},
        {"payload": {"n": "\x00"}},
        {"payload": {"x": "y" * 300_000}},
        {"extra": 1},
        {"source_system": "Harvest"},
    ],
)
def test_the_compiled_check_never_takes_what_the_field_by_field_check_refuses(overrides):
    from opsview.ingest.fields import quick_clean
    from opsview.ingest.schemas import SYNC_EVENT

    assert quick_clean(SYNC_EVENT, [event(1), event(2, **overrides)]) is None


# --- the body read as JSON text (PostgreSQL, detection behind the response) ---------------------------------


def decoded(items, **body):
    import orjson

    from opsview.ingest.fields import quick_decode
    from opsview.ingest.schemas import SYNC_EVENT

    return quick_decode(SYNC_EVENT, orjson.dumps({"items": items, **body}))


@pytest.mark.parametrize("item", VALID_ITEMS, ids=range(len(VALID_ITEMS)))
def test_a_valid_item_read_from_the_text_is_cleaned_alike_its_payload_kept_as_sent(item):
    import orjson

    from opsview.ingest.fields import JsonText, clean_item
    from opsview.ingest.schemas import SYNC_EVENT

    expected = clean_item(SYNC_EVENT, item, [], 0)
    found = decoded([item])
    if item["event_id"] == "run7-3":  # a null where a default is due: the field-by-field check's
        assert found is None
        return
    (event,) = found
    payload = event.pop("payload")
    assert event == {name: value for name, value in expected.items() if name != "payload"}
    if expected["payload"] is None:
        assert payload is None
    else:
        assert type(payload) is JsonText and orjson.loads(bytes(payload)) == expected["payload"]


def test_a_null_or_absent_payload_is_none_and_the_text_is_kept_byte_for_byte():
    body = (
        b'{"items": [{"event_id": "a", "record_type": "time_entry", "external_id": "TE-1", "source_system": "harvest",'
        b' "target_system": "tryton", "outcome": "succeeded", "occurred_at": "2026-11-20T18:00:00Z",'
        b' "payload": {"b" : [1, 2.50],  "a": "caf\\u00e9"}},'
        b' {"event_id": "b", "record_type": "time_entry", "external_id": "TE-2", "source_system": "harvest",'
        b' "target_system": "tryton", "outcome": "succeeded", "occurred_at": "2026-11-20T18:00:00Z", "payload": null},'
        b' {"event_id": "c", "record_type": "time_entry", "external_id": "TE-3", "source_system": "harvest",'
        b' "target_system": "tryton", "outcome": "succeeded", "occurred_at": "2026-11-20T18:00:00Z"}]}'
    )
    from opsview.ingest.fields import quick_decode
    from opsview.ingest.schemas import SYNC_EVENT

    first, null, absent = quick_decode(SYNC_EVENT, body)
    assert first["payload"] == b'{"b" : [1, 2.50],  "a": "caf\\u00e9"}'
    assert null["payload"] is None and absent["payload"] is None


@pytest.mark.parametrize(
    "payload_text",
    [
        b'{"n": 1e400}',  # beyond a double: the slow path's parser refuses it
        b'{"n": [2.5E3]}',
        b'{"n": "a\\u0000b"}',  # NUL: jsonb cannot hold it
        b'{"n": "\\ud83d\\ude00"}',  # surrogates: left to the slow path, which knows a pair from a lone one
        b'{"n": "\\uDC00"}',
        b"[1, 2]",
        b'"text"',
        b"{" + b'"a": [' * 20 + b"1" + b"]" * 20 + b', "b": [' * 13 + b"2" + b"]" * 13 + b"}",  # 34 brackets
        b'{"x": "' + b"y" * (128 * 1024) + b'"}',  # more than half the payload limit
        b'{"a": ' * 2000 + b"1" + b"}" * 2000,  # deeper than msgspec reads
    ],
)
def test_a_payload_jsonb_or_the_slow_path_might_read_otherwise_is_left_to_the_slow_path(payload_text):
    from opsview.ingest.fields import quick_decode
    from opsview.ingest.schemas import SYNC_EVENT

    item = (
        b'{"event_id": "a", "record_type": "time_entry", "external_id": "TE-1", "source_system": "harvest",'
        b' "target_system": "tryton", "outcome": "succeeded", "occurred_at": "2026-11-20T18:00:00Z", "payload": '
    )
    assert quick_decode(SYNC_EVENT, b'{"items": [' + item + payload_text + b"}]}") is None
    # Behind a plain one: the payloads are searched together first, then one by one.
    plain = item.replace(b'"a"', b'"b"') + b'{"hours": 7.5}}, '
    assert quick_decode(SYNC_EVENT, b'{"items": [' + plain + item + payload_text + b"}]}") is None


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"items": []}', b'{"items": {}}', b'{"items": [], "more": 1}', b"{not json", b'{"items": [1]}'],
)
def test_a_body_that_is_not_a_plain_batch_is_left_to_the_slow_path(body):
    from opsview.ingest.fields import quick_decode
    from opsview.ingest.schemas import SYNC_EVENT

    assert quick_decode(SYNC_EVENT, body) is None


def test_an_item_the_field_by_field_check_refuses_is_never_taken_from_the_text():
    assert decoded([event(1), event(2, outcome="lost")]) is None
    assert decoded([event(1)], extra=1) is None
    assert decoded([event(1, payload={"x": "y" * 300_000})]) is None


def test_a_payload_is_stored_as_sent_or_refused_as_the_parser_says(api, northwind):
    item = event(1, payload=None)
    text = orjson_dumps({"items": [item]}).replace(b'"payload":null', b'"payload":{"name": "caf\\u00e9", "n": 12.50}')
    response = api.generic("POST", URL, text, content_type="application/json")

    assert response.status_code == 200
    assert stored(northwind).get(event_id="run7-1").payload == {"name": "café", "n": 12.5}

    beyond = text.replace(b"12.50", b"1e400").replace(b"run7-1", b"run7-2")
    refused = api.generic("POST", URL, beyond, content_type="application/json")
    assert refused.status_code == 400
    assert "not valid JSON" in refused.json()["detail"]
    assert not stored(northwind).filter(event_id="run7-2").exists()


def orjson_dumps(value):
    import orjson

    return orjson.dumps(value)
