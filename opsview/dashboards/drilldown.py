"""Where a click on a chart leads: the list of exactly the records behind the bar or point.

Time goes to the time entry list, sync events to the sync event list, both
filtered with the same functions the KPI used. Exceptions go to the queue,
filtered by kind, status, system, project, client and past SLA.
"""

from urllib.parse import urlencode

from django.urls import reverse


def _with(url, params):
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


def time_entries(scope, **params):
    """The time entry list for ``scope``'s period and filters, narrowed by ``params`` (status, state, age, lag)."""
    return _with(reverse("time-entries"), scope.filters() | params)


def sync_events(scope, system=None, day=None, outcome=None):
    """The sync events of ``scope`` sent to ``system`` on local ``day`` (the whole period without one)."""
    return _with(
        reverse("sync-events"),
        scope.filters() | {"target": system, "day": day.isoformat() if day else None, "outcome": outcome},
    )


def failed_postings(scope):
    """The failed ERP postings of ``scope``'s projects that were not fixed since the period began."""
    return _with(reverse("sync-events"), scope.filters() | {"show": "failed-postings"})


def first_arrivals(scope, show="reached", day=None):
    """The records straight-through processing counted for ``scope`` (or on local ``day``).

    ``show`` is "reached" (all of them), "straight-through" (no one touched
    them) or "touched" (they had an exception).
    """
    params = {"show": show, "day": day.isoformat() if day else None}
    return _with(reverse("sync-events"), scope.filters() | params)


def reconciliation(scope):
    """The reconciliation page of the month ``scope``'s period ends in: where its gaps are listed."""
    return _with(reverse("reconciliation"), {"period": f"{scope.end:%Y-%m}"})


def queue(kind=None, status=None, system=None, project=None, client=None, past_sla=False):
    """The exception queue filtered as given."""
    params = {"kind": kind, "status": status, "system": system, "project": project, "client": client}
    return _with(reverse("queue"), params | {"past_sla": "1" if past_sla else None})
