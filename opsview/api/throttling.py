"""A rate limit on the ingest API, per integration token.

One job with a bug in a loop must not starve the other integrations of a workspace or the web pages
sharing the database. The count is kept in the cache (Redis in production, so every web process on
every machine counts together; the file cache on one machine) and is approximate under races, which is
all a guard against runaway senders needs.
"""

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from opsview.systems.models import ApiToken

PERIOD_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


class IngestRateExceeded(Throttled):
    default_code = "rate_limited"
    extra_detail_singular = "Retry after {wait} second (the Retry-After header says the same)."
    extra_detail_plural = "Retry after {wait} seconds (the Retry-After header says the same)."


class IngestRateThrottle(SimpleRateThrottle):
    """At most INGEST_RATE requests (e.g. ``600/min``) per token; an empty INGEST_RATE turns it off."""

    scope = "ingest"

    def get_rate(self):
        return settings.INGEST_RATE or None

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None  # not an integration: authentication answers first
        # The key hash, not the id: ids may be reused, a revoked and reissued token starts afresh.
        return self.cache_format % {"scope": self.scope, "ident": request.auth.key_hash}

    def allow_request(self, request, view):
        if super().allow_request(request, view):
            return True
        period = PERIOD_WORDS[settings.INGEST_RATE.split("/")[1][0]]
        limit = f"Rate limit exceeded: this token may send {self.num_requests} requests per {period}."
        raise IngestRateExceeded(wait=max(1, self.wait() or 1), detail=limit)
