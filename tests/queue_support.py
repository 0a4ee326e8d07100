"""Helpers the queue tests share: reporting failures through the real ingest API, and reading the queue."""

from datetime import UTC, timedelta

from django.utils import timezone

from opsview.queues.models import ExceptionItem

EVENTS_URL = "/api/v1/sync-events/"
_counter = iter(range(1, 10**9))


def failure(external_id, message="Posting period 2026-10 is closed", code="PERIOD_CLOSED", at=None, **overrides):
    return event(external_id, outcome="failed", error_code=code, error_message=message, at=at, **overrides)


def success(external_id, at=None, **overrides):
    return event(external_id, outcome="succeeded", at=at, **overrides)


def event(external_id, outcome, at=None, **overrides):
    at = at or BASE
    item = {
        "event_id": f"ev-{external_id}-{next(_counter)}",
        "record_type": "time_entry",
        "external_id": external_id,
        "source_system": "harvest",
        "target_system": "tryton",
        "outcome": outcome,
        "payload": {"hours": 7.5, "bill_rate": 150, "currency": "EUR"},
        "occurred_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    item.update(overrides)
    return item


# Failures happened yesterday, unless a test says otherwise: resolving "now" comes after them.
BASE = timezone.now().replace(microsecond=0) - timedelta(days=1)


def later(hours):
    return BASE + timedelta(hours=hours)


def send(api, *items):
    response = api.post(EVENTS_URL, {"items": list(items)}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def exceptions(firm, **filters):
    return ExceptionItem.objects.for_workspace(firm.workspace).filter(**filters)


def only_exception(firm, **filters):
    return exceptions(firm, **filters).get()


def twenty_posting_failures(api, firm):
    """A group of 20 posting failures, and two other kinds to filter away; the firm's exceptions."""
    amount = {"amount": "500", "currency": "EUR"}
    group = [failure(f"TE-{n}", f"Posting period 2026-10 is closed (entry TE-{n})", payload=amount) for n in range(20)]
    timeout = failure("TE-t", "Read timed out after 30s", code="TIMEOUT")
    unknown = failure("TE-m", "Unknown project code 'ACME-01'", code="")
    send(api, *group, timeout, unknown)
    return exceptions(firm)
