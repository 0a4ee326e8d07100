"""The HTTP layer every connector shares: timeouts, retries with backoff, and safe logging.

A call is retried on 429, on 5xx (500, 502, 503, 504) and on transport errors, with
exponential backoff and full jitter, honouring ``Retry-After`` (seconds or an HTTP
date). A call that is not idempotent (a POST without an idempotency key) is retried
only where the system certainly did not act on it: 429 and failures to connect.

Every attempt is logged with its method, URL path (never the query string), status,
duration and correlation id; headers and bodies, and so credentials, are never logged.
Sleep, clock and randomness are injectable so tests run without waiting.
"""

import logging
import random
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from connectors.errors import ConnectorError

logger = logging.getLogger("connectors.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
CORRELATION_HEADER = "X-Correlation-ID"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    The n-th retry waits a random time between 0 and ``min(max_delay, base_delay * 2**(n-1))``
    (full jitter), or exactly what ``Retry-After`` asks when the system says. A system
    asking for a wait longer than ``max_retry_after`` is not waited for: the call fails
    at once with ``retry_after`` set, so a scheduler can try again later.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, retry_number: int, rng: Callable[[float, float], float]) -> float:
        """The jittered wait before retry number ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return rng(0.0, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


_ssl_context: ssl.SSLContext | None = None
_ssl_lock = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """The process's one verifying TLS context, built on first use and shared by every client.

    Building one reads the whole CA bundle: about 20 ms of CPU, which each connector paid again when
    every replay built its own client (most of a replay's cost against a local target).
    """
    global _ssl_context
    if _ssl_context is None:
        with _ssl_lock:
            if _ssl_context is None:
                _ssl_context = httpx.create_ssl_context()
    return _ssl_context


def timeout(seconds: float) -> httpx.Timeout:
    """A timeout of ``seconds`` for each read, write and wait for a pooled connection; connecting gets at most 5 s."""
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def new_correlation_id() -> str:
    """A fresh correlation id for one logical call (the same across its retries)."""
    return uuid.uuid4().hex


class HttpClient:
    """An httpx client with timeouts on every call, retries, and logging that never shows credentials.

    ``auth`` is any ``httpx.Auth`` (or a callable that sets headers on a request); it is
    applied by httpx and never reaches the log. ``system`` names the target in log lines.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        system: str = "http",
        headers: dict | None = None,
        auth: httpx.Auth | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[float, float], float] = random.uniform,
        transport: httpx.BaseTransport | None = None,
    ):
        self.system = system
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self._client = httpx.Client(
            base_url=base_url,
            headers=headers,
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=shared_ssl_context(),
        )

    def close(self):
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        correlation_id: str | None = None,
        idempotent: bool | None = None,
        **kwargs,
    ) -> httpx.Response:
        """Send a request, retrying what may be retried; return the final response, whatever its status.

        ``idempotent`` defaults to the method's nature (GET, PUT, DELETE… are); pass True for a
        POST that carries an idempotency key or only reads. Transport errors that survive the
        retries raise ``ConnectorError`` (code ``timeout`` or ``transport_error``, retryable).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        correlation_id = correlation_id or new_correlation_id()
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault(CORRELATION_HEADER, correlation_id)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as error:
                self._log(method, url, None, started, attempt, correlation_id, type(error).__name__)
                may_retry = idempotent or isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
                if not may_retry or attempt >= self.retry.max_attempts:
                    code = "timeout" if isinstance(error, httpx.TimeoutException) else "transport_error"
                    raise ConnectorError(
                        code, f"{self.system}: {type(error).__name__} after {attempt} attempt(s)", retryable=True
                    ) from error
                self.sleep(self.retry.backoff(attempt, self.rng))
                continue
            self._log(method, url, response.status_code, started, attempt, correlation_id)
            status = response.status_code
            may_retry = status == 429 or (idempotent and status in RETRY_STATUSES)
            if not may_retry or attempt >= self.retry.max_attempts:
                return response
            wait = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            if wait is not None and wait > self.retry.max_retry_after:
                return response
            response.close()
            self.sleep(wait if wait is not None else self.retry.backoff(attempt, self.rng))

    def _log(self, method, url, status, started, attempt, correlation_id, error=None):
        if not logger.isEnabledFor(logging.INFO):
            return  # parsing the URL for a line nobody keeps cost a fifth of a replay's own work
        duration_ms = (time.monotonic() - started) * 1000
        path = httpx.URL(url).path if "://" in str(url) else str(url).split("?", 1)[0]
        logger.info(
            "%s %s %s -> %s in %.0f ms (attempt %d/%d) correlation_id=%s",
            self.system,
            method,
            path,
            status if status is not None else error,
            duration_ms,
            attempt,
            self.retry.max_attempts,
            correlation_id,
            extra={
                "system": self.system,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
                "attempt": attempt,
                "correlation_id": correlation_id,
            },
        )


# Request headers whose values are credentials; a header naming one of these words counts too (X-Api-Key).
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CREDENTIAL_WORDS = ("token", "key", "secret", "password", "signature")
REDACTED = "[redacted]"


def sent_credentials(request: httpx.Request | None) -> list[str]:
    """The credential values ``request`` carried: its authorisation-like headers, whole and without their scheme."""
    if request is None:
        return []
    values = []
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in _CREDENTIAL_HEADERS or any(word in lowered for word in _CREDENTIAL_WORDS):
            values.append(value)
            scheme, _, secret = value.partition(" ")
            if secret:
                values.append(secret)
    for name, value in request.url.params.multi_items():
        if any(word in name.lower() for word in _CREDENTIAL_WORDS):
            values.append(value)
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def answer_excerpt(response: httpx.Response, limit: int = 500) -> str:
    """The start of a response's body for an error message, with any credential the request sent blanked out.

    Some systems repeat the token they refused in their error page; the message is stored, shown and
    logged, so the token must not survive in it. Blanked before cutting, so no part of one is left.
    """
    if not response.content:
        return ""
    text = response.text
    try:
        request = response.request
    except RuntimeError:  # a response built without a request (tests)
        request = None
    for value in sent_credentials(request):
        text = text.replace(value, REDACTED)
    return text[:limit].strip()


def error_for_status(system: str, response: httpx.Response, now: datetime | None = None) -> ConnectorError:
    """A ``ConnectorError`` describing a failed response: code ``http_<status>``, a short excerpt of its body."""
    status = response.status_code
    excerpt = answer_excerpt(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now or datetime.now(UTC))
    message = f"{system} answered {status} {response.reason_phrase}" + (f": {excerpt}" if excerpt else "")
    return ConnectorError(
        f"http_{status}", message, retryable=status in RETRY_STATUSES, status=status, retry_after=retry_after
    )
