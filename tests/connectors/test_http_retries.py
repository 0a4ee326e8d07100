"""The shared HTTP layer against a real server on 127.0.0.1: backoff, Retry-After, timeouts, safe logs."""

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.errors import ConnectorError
from connectors.http import HttpClient, RetryPolicy, parse_retry_after
from tests.connectors.localserver import Reply

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "s3cr3t-token-never-logged"


def client(server, sleeps, **kwargs):
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0))
    return HttpClient(
        server.url,
        system="testsys",
        headers={"Authorization": f"Bearer {SECRET}"},
        sleep=sleeps,
        clock=lambda: NOW,
        rng=lambda low, high: high,  # the jitter's ceiling, so the exponential shape is visible
        **kwargs,
    )


def test_429_with_retry_after_seconds_waits_that_long_then_succeeds(server, sleeps):
    server.replies = [Reply(429, {"error": "slow down"}, {"Retry-After": "7"}), Reply(200, {"ok": True})]
    with client(server, sleeps) as http:
        response = http.request("GET", "/things")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert sleeps == [7.0]
    assert len(server.seen) == 2


def test_retry_after_as_http_date_is_honoured(server, sleeps):
    later = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    server.replies = [Reply(503, headers={"Retry-After": later}), Reply(200, {})]
    with client(server, sleeps) as http:
        assert http.request("GET", "/x").status_code == 200
    assert sleeps == [12.0]


def test_5xx_backs_off_exponentially_with_full_jitter_up_to_max_attempts(server, sleeps):
    server.replies = [Reply(500), Reply(502), Reply(503), Reply(504), Reply(200)]
    with client(server, sleeps) as http:
        response = http.request("GET", "/x")
    assert response.status_code == 504  # the fourth and last attempt's answer
    assert sleeps == [1.0, 2.0, 4.0]  # ceilings base*2**(n-1); rng picked the ceiling
    assert len(server.seen) == 4


def test_backoff_is_capped_and_jitter_draws_below_the_ceiling():
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    draws = []

    def rng(low, high):
        draws.append((low, high))
        return (low + high) / 2

    assert [policy.backoff(n, rng) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert draws == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 5.0), (0.0, 5.0)]


def test_4xx_other_than_429_is_not_retried(server, sleeps):
    server.replies = [Reply(400, {"error": "bad"})]
    with client(server, sleeps) as http:
        assert http.request("GET", "/x").status_code == 400
    assert sleeps == [] and len(server.seen) == 1


def test_a_post_without_idempotency_is_retried_on_429_but_not_on_5xx(server, sleeps):
    server.replies = [Reply(429, headers={"Retry-After": "1"}), Reply(500), Reply(200)]
    with client(server, sleeps) as http:
        assert http.request("POST", "/x", json={}).status_code == 500
    assert sleeps == [1.0] and len(server.seen) == 2


def test_an_idempotent_post_is_retried_on_5xx(server, sleeps):
    server.replies = [Reply(500), Reply(201, {"id": 1})]
    with client(server, sleeps) as http:
        assert http.request("POST", "/x", json={}, idempotent=True).status_code == 201


def test_a_retry_after_longer_than_we_wait_returns_at_once(server, sleeps):
    server.replies = [Reply(429, headers={"Retry-After": "3600"}), Reply(200)]
    with client(server, sleeps) as http:
        response = http.request("GET", "/x")
    assert response.status_code == 429 and sleeps == []


def test_timeouts_apply_to_every_call_and_are_retried_then_reported(server, sleeps):
    server.handler = lambda seen: Reply(200, {}, delay=1.0)
    http = client(server, sleeps, timeout=httpx.Timeout(0.2), retry=RetryPolicy(max_attempts=2))
    with http, pytest.raises(ConnectorError) as raised:
        http.request("GET", "/slow")
    assert raised.value.code == "timeout" and raised.value.retryable
    assert len(sleeps) == 1 and len(server.seen) == 2


def test_connection_refused_is_a_retryable_transport_error(sleeps):
    http = HttpClient("http://127.0.0.1:9", sleep=sleeps, retry=RetryPolicy(max_attempts=3), rng=lambda a, b: b)
    with pytest.raises(ConnectorError) as raised:
        http.request("POST", "/x")  # a refused connection never reached the system: safe to retry a POST
    assert raised.value.code == "transport_error" and raised.value.retryable
    assert len(sleeps) == 2


def test_every_call_is_logged_with_correlation_id_and_duration_but_never_credentials(server, sleeps, caplog):
    server.replies = [Reply(503, headers={"Retry-After": "0"}), Reply(200)]
    caplog.set_level(logging.INFO, logger="connectors.http")
    with client(server, sleeps) as http:
        http.request("GET", f"/things?api_key={SECRET}", correlation_id="corr-42", headers={"X-Api-Key": SECRET})
    records = [r for r in caplog.records if r.name == "connectors.http"]
    assert [r.status for r in records] == [503, 200]
    assert all(r.correlation_id == "corr-42" and r.path == "/things" and r.duration_ms >= 0 for r in records)
    assert "corr-42" in records[0].getMessage() and "ms" in records[0].getMessage()
    everything = " ".join(r.getMessage() + repr(vars(r)) for r in records)
    assert SECRET not in everything
    # The correlation id travels to the system too, the same on each retry.
    assert [s.headers["X-Correlation-ID"] for s in server.seen] == ["corr-42", "corr-42"]


def test_parse_retry_after_reads_seconds_dates_and_ignores_rubbish():
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(format_datetime(NOW + timedelta(minutes=1), usegmt=True), NOW) == 60.0
    assert parse_retry_after(format_datetime(NOW - timedelta(minutes=1), usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
