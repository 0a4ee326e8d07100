"""A runaway integration job is slowed down per token with 429 and Retry-After; the others carry on."""

from rest_framework.test import APIClient

from opsview.systems.models import ApiToken
from opsview.telemetry.models import SyncEvent
from tests.test_ingest_sync_events import URL, event


def client_for(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_over_the_rate_a_token_is_answered_429_with_retry_after_and_the_limit_and_nothing_is_stored(
    api, northwind, settings
):
    settings.INGEST_RATE = "3/min"
    for n in range(3):
        assert api.post(URL, {"items": [event(n)]}, format="json").status_code == 200

    refused = api.post(URL, {"items": [event(99)]}, format="json")

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    detail = refused.json()["detail"]
    assert detail.startswith("Rate limit exceeded: this token may send 3 requests per minute.")
    assert f"Retry after {refused['Retry-After']} second" in detail
    assert not SyncEvent.objects.filter(event_id="run7-99").exists()
    assert api.get("/api/v1/whoami/").status_code == 429  # every ingest endpoint counts against the same limit


def test_another_token_keeps_its_own_allowance(api, northwind, settings):
    settings.INGEST_RATE = "2/min"
    _, other_raw = ApiToken.issue(northwind.erp, "posting job")
    for n in range(2):
        api.post(URL, {"items": [event(n)]}, format="json")
    assert api.post(URL, {"items": [event(2)]}, format="json").status_code == 429

    other = client_for(other_raw).post(URL, {"items": [event(3, source_system="tryton")]}, format="json")

    assert other.status_code == 200 and other.json()["created"] == 1


def test_an_empty_rate_turns_the_limit_off(api, settings):
    settings.INGEST_RATE = ""
    assert all(api.get("/api/v1/whoami/").status_code == 200 for _ in range(20))
