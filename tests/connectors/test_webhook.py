"""The generic webhook target: signed POSTs, checked by an independent HMAC implementation."""

import hashlib
import hmac
import json

from connectors.http import RetryPolicy
from connectors.webhook import WebhookConnector, verify_signature
from tests.connectors.localserver import Reply

SECRET = "whsec_northwind_middleware"
SENT_AT = 1_795_000_000


def independent_signature(secret, timestamp, body):
    """What a customer's receiver computes, written from the documented scheme, not from our code."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook(server, sleeps, **kwargs):
    return WebhookConnector(
        f"{server.url}/hooks/opsview",
        SECRET,
        clock=lambda: SENT_AT,
        retry=RetryPolicy(max_attempts=3),
        http_options={"sleep": sleeps, "rng": lambda a, b: b},
        **kwargs,
    )


INVOICE = {"external_id": "INV-7", "number": "2026-0007", "amount": "1234.50", "currency": "EUR"}


def test_posts_the_record_as_json_signed_over_timestamp_and_body(server, sleeps):
    server.replies = [Reply(202, {"id": "rcv-91"})]
    with webhook(server, sleeps) as hook:
        result = hook.send("invoice", INVOICE, "replay-ev-1")
    assert result.ok and result.external_id == "rcv-91" and result.error_code == ""
    (seen,) = server.seen
    assert seen.method == "POST" and seen.path == "/hooks/opsview"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Idempotency-Key"] == "replay-ev-1"
    assert seen.headers["Opsview-Timestamp"] == str(SENT_AT)
    assert seen.headers["Opsview-Signature"] == independent_signature(SECRET, SENT_AT, seen.body)
    assert seen.json() == {"record_type": "invoice", "idempotency_key": "replay-ev-1", "payload": INVOICE}


def test_a_tampered_body_or_wrong_secret_or_stale_timestamp_does_not_verify(server, sleeps):
    with webhook(server, sleeps) as hook:
        hook.send("invoice", INVOICE, "k1")
    seen = server.seen[0]
    stamp, signature = seen.headers["Opsview-Timestamp"], seen.headers["Opsview-Signature"]
    assert verify_signature(SECRET, seen.body, stamp, signature, now=SENT_AT + 10)
    tampered = json.dumps({**seen.json(), "payload": {**INVOICE, "amount": "1.00"}}).encode()
    assert not verify_signature(SECRET, tampered, stamp, signature, now=SENT_AT)
    assert not verify_signature("other-secret", seen.body, stamp, signature, now=SENT_AT)
    assert not verify_signature(SECRET, seen.body, stamp, signature, now=SENT_AT + 3600)
    assert not verify_signature(SECRET, seen.body, "not-a-time", signature, now=SENT_AT)


def test_resends_keep_the_idempotency_key_and_a_409_duplicate_counts_as_delivered(server, sleeps):
    server.replies = [Reply(503), Reply(409, {"error": "already received"})]
    with webhook(server, sleeps) as hook:
        result = hook.send("invoice", INVOICE, "replay-ev-2")
    assert result.ok
    assert [s.headers["Idempotency-Key"] for s in server.seen] == ["replay-ev-2", "replay-ev-2"]


def test_a_rejection_is_a_clear_failure_that_is_not_retried(server, sleeps):
    server.replies = [Reply(422, {"error": "unknown customer C-9"})]
    with webhook(server, sleeps) as hook:
        result = hook.send("invoice", INVOICE, "k3")
    assert not result.ok and not result.retryable
    assert result.error_code == "http_422"
    assert "unknown customer C-9" in result.error_message
    assert len(server.seen) == 1


def test_an_outage_that_outlasts_the_retries_is_a_retryable_failure(server, sleeps):
    server.handler = lambda seen: Reply(503, {"error": "maintenance"})
    with webhook(server, sleeps) as hook:
        result = hook.send("time_entry", {"external_id": "TE-1"}, "k4")
    assert not result.ok and result.retryable and result.error_code == "http_503"
    assert len(server.seen) == 3


def test_record_types_the_target_does_not_take_are_refused_without_a_call(server, sleeps):
    with webhook(server, sleeps, record_types=("invoice",)) as hook:
        result = hook.send("time_entry", {"external_id": "TE-1"}, "k5")
    assert not result.ok and result.error_code == "unsupported_record_type"
    assert server.seen == []
