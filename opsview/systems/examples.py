"""The first batch an integration job can send for a system: a request ready to paste, against this server.

One failed sync event is the smallest real batch that shows what opsview is for: it is stored, opens an
exception in the queue at once (an ERP posting failure) and needs nothing sent before it, whatever kind
the system is. Sending it again changes nothing (the event id makes it a duplicate).
"""

import json
import shlex
from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from opsview.systems.models import System, SystemKind

# Systems that receive time rather than send it: their example event arrives from a time tracking system.
RECEIVERS = (SystemKind.ERP, SystemKind.BILLING)
SENDERS = (SystemKind.TIME_TRACKING, SystemKind.PSA)


@dataclass(frozen=True)
class ExampleRequest:
    """A request for the ingest API: where it goes, its exact JSON body, and the curl command that sends it."""

    url: str
    body: str
    curl: str
    source: str  # the slugs the event names
    target: str


def _counterpart(system, kinds):
    """Another active system of the workspace of one of ``kinds`` (the first kind found first), or None."""
    others = {
        s.kind: s
        for s in reversed(
            System.objects.for_workspace(system.workspace_id)
            .connected()
            .filter(is_active=True, kind__in=kinds)
            .exclude(pk=system.pk)
            .order_by("name")
        )
    }
    return next((others[kind] for kind in kinds if kind in others), None)


def first_batch_example(system, raw_token, absolute_url):
    """The example request for ``system``, sent with ``raw_token``; ``absolute_url`` makes a path absolute.

    The event goes from a time tracking system to an ERP (or billing): for a receiving system it comes
    from the workspace's time tracking system, for any other it goes to the workspace's ERP; with no such
    system the system is both ends. ``absolute_url`` is e.g. ``request.build_absolute_uri``.
    """
    if system.kind in RECEIVERS:
        source, target = _counterpart(system, SENDERS) or system, system
    else:
        source, target = system, _counterpart(system, RECEIVERS) or system
    now = timezone.now().replace(microsecond=0)
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    event = {
        "event_id": f"first-batch-{system.slug}-TE-1001",
        "record_type": "time_entry",
        "external_id": "TE-1001",
        "source_system": source.slug,
        "target_system": target.slug,
        "outcome": "failed",
        "error_code": "PERIOD_CLOSED",
        "error_message": f"Posting period {last_month} is closed",
        "payload": {"hours": 7.5, "project": "PR-1001", "work_date": now.date().isoformat()},
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body = json.dumps({"items": [event]})
    url = absolute_url(reverse("api-sync-events"))
    curl = (
        f"curl -X POST {shlex.quote(url)} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + raw_token)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}"
    )
    return ExampleRequest(url=url, body=body, curl=curl, source=source.slug, target=target.slug)
