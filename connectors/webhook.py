"""Generic webhook target: POST the record as JSON to a customer's URL, signed with HMAC-SHA256.

For customers whose own middleware takes the replay. The request carries:

- ``Opsview-Timestamp``: Unix seconds when it was signed;
- ``Opsview-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the shared
  secret, of the timestamp, a dot, and the raw body bytes (``b"1700000000." + body``);
- ``Idempotency-Key``: the same for every resend of one record, so the receiver can
  drop duplicates.

The body is ``{"record_type": ..., "idempotency_key": ..., "payload": {...}}``.
A receiver checks the signature with ``verify_signature`` (or its own few lines) and
rejects a timestamp older than a few minutes, so a captured request cannot be replayed.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable

from connectors.base import Connector
from connectors.errors import ConnectorError
from connectors.http import HttpClient, RetryPolicy, answer_excerpt
from connectors.records import SendResult
from connectors.settings import Setting

TIMESTAMP_HEADER = "Opsview-Timestamp"
SIGNATURE_HEADER = "Opsview-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``Opsview-Signature`` header value for ``body`` sent at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes, body: bytes, timestamp: str, signature: str, *, now: float | None = None, tolerance=300
) -> bool:
    """Whether a received request's signature is right and its timestamp within ``tolerance`` seconds of now."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature or "")


def encode_body(record_type: str, payload: dict, idempotency_key: str) -> bytes:
    """The exact bytes POSTed for one record: compact JSON, keys sorted, non-JSON values as strings."""
    envelope = {"record_type": record_type, "idempotency_key": idempotency_key, "payload": payload}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), default=str).encode()


class WebhookConnector(Connector):
    """Sends records to one URL; it cannot be read from or asked what it received.

    ``http_options`` go to ``HttpClient`` (timeout, sleep, clock, rng, transport).
    """

    system = "webhook"
    SETTINGS = (
        Setting(
            "url",
            "Receiver address",
            "Where your middleware takes replayed records: opsview POSTs each record there as JSON, e.g. "
            "https://hooks.example.com/opsview.",
            kind="url",
            placeholder="https://hooks.example.com/opsview",
        ),
        Setting(
            "secret",
            "Signing secret",
            "A long random string your receiver also knows: every request carries Opsview-Signature, sha256= "
            "and the HMAC-SHA256 of the Opsview-Timestamp header, a dot and the body, keyed with this secret.",
            secret=True,
        ),
    )

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        record_types=("time_entry", "invoice", "project"),
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        http_options: dict | None = None,
    ):
        if not secret:
            raise ValueError("a webhook target needs a signing secret")
        self.url = url
        self._secret = secret
        self.send_types = frozenset(record_types)
        self.clock = clock
        self.http = HttpClient(system=self.system, retry=retry, **(http_options or {}))

    def send(self, record_type: str, payload: dict, idempotency_key: str, correlation_id=None) -> SendResult:
        """POST the signed record; 2xx (or 409, a duplicate the receiver already has) is success."""
        if record_type not in self.send_types:
            return SendResult.failure("unsupported_record_type", f"this webhook does not take {record_type!r}")
        body = encode_body(record_type, payload, idempotency_key)
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: idempotency_key,
        }
        try:
            response = self.http.request(
                "POST", self.url, content=body, headers=headers, idempotent=True, correlation_id=correlation_id
            )
        except ConnectorError as error:
            return SendResult.failure(error.code, error.message, retryable=error.retryable)
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            return SendResult(ok=True, external_id=_receipt_id(response), detail={"status": status})
        excerpt = answer_excerpt(response)
        return SendResult.failure(
            f"http_{status}",
            f"webhook answered {status} {response.reason_phrase}" + (f": {excerpt}" if excerpt else ""),
            retryable=status in (408, 429) or status >= 500,
            detail={"status": status},
        )

    def check(self) -> str:
        """Whether the receiver answers at all: a ``HEAD`` of the URL, which nothing acts on (a signed POST could
        be taken for a record). Any answer below 500 means it is reachable, 405 included (many receivers take
        only POST); a 5xx or no answer is a ``ConnectorError``. e.g. "hooks.example.com answered HEAD with 405"."""
        response = self.http.request("HEAD", self.url)
        host = response.request.url.host if response.request else self.url
        if response.status_code >= 500:
            raise ConnectorError(
                f"http_{response.status_code}",
                f"webhook {host} answered HEAD with {response.status_code} {response.reason_phrase}",
                retryable=True,
                status=response.status_code,
            )
        return f"webhook {host} answered HEAD with {response.status_code}"

    def close(self):
        """Close the HTTP client."""
        self.http.close()


def _receipt_id(response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("id") or data.get("external_id") or "")
    return ""
