"""A pull, recorded as a sync run with its sync events.

``pull`` reads one kind of record from a system, page after page from its stored
cursor; each page is stored with ``pages.store_page``, so a pull that stops part way
(a connector error, a crash) has stored every page before it and moved the cursor
exactly that far. A pull that fails ends its run as failed and records one failed
event (record type ``pull``) so the failure shows in the queues; the next pull that
succeeds records a succeeded one, which lets that exception resolve by itself.
"""

import logging

from django.db import transaction
from django.utils import timezone

from connectors.base import iter_pages
from connectors.errors import ConnectorError
from opsview.pulls.connection import build_connector, connector_for
from opsview.pulls.kinds import PULL_KINDS, kinds_for
from opsview.pulls.models import PullCursor
from opsview.pulls.pages import CursorMoved, Tally, store_page
from opsview.pulls.recording import PULL_RECORD_TYPE, pull_event, store_events
from opsview.telemetry.models import Outcome, RunStatus, SyncRun

logger = logging.getLogger(__name__)
STOPPED = (RunStatus.FAILED, RunStatus.CANCELLED)


def pull(system, record_type, *, connector=None, from_start=False):
    """Pull one kind of record (a ``PULL_KINDS`` name) from ``system``; returns the finished ``SyncRun``.

    ``from_start`` reads everything again, ignoring the stored cursor (records already
    stored are duplicates); ``connector`` is used instead of building one from the system.
    """
    kind = PULL_KINDS[record_type]
    cursor, _ = PullCursor.objects.get_or_create(
        system=system, record_type=kind.name, defaults={"workspace_id": system.workspace_id}
    )
    run = SyncRun.objects.create(
        workspace_id=system.workspace_id, reported_by=system, flow=kind.flow, source_system=system, target_system=system
    )
    tally = Tally()
    try:
        with connector_for(system, connector) as source:
            for page in iter_pages(getattr(source, kind.fetch), None if from_start else cursor.cursor or None):
                tally += store_page(system, kind, run, cursor, page, tally)
    except ConnectorError as error:
        return _failed(system, kind, run, cursor, tally, error.code, error.message, retryable=error.retryable)
    except CursorMoved as moved:
        return _finish(run, tally, RunStatus.CANCELLED, str(moved))
    except Exception as error:
        logger.exception("pull %s from system %s failed", kind.name, system.pk)
        return _failed(system, kind, run, cursor, tally, "internal_error", f"{type(error).__name__}: {error}")
    if _previous_pull_failed(run):
        with transaction.atomic():  # the event and the exception it resolves commit together
            store_events(system.workspace, [pull_event(system, run, kind, Outcome.SUCCEEDED)])
    return _finish(run, tally, _status(tally), tally.summary(kind))


def pull_all(system, kinds=None, *, from_start=False):
    """Pull every kind the system's connector provides (or ``kinds``), in dependency order, with one connector.

    Stops at the first pull that fails: the later kinds wait for the next poll, so an
    outage shows as one failed run, not one per kind. Returns the runs.
    """
    wanted = [k for k in kinds_for(system.vendor) if kinds is None or k.name in kinds]
    if not wanted:
        return []
    try:
        connector = build_connector(system)
    except ConnectorError:
        return [pull(system, wanted[0].name)]  # records the configuration error as its failed run
    runs = []
    with connector:
        for kind in wanted:
            runs.append(pull(system, kind.name, connector=connector, from_start=from_start))
            if runs[-1].status in STOPPED:
                break
    return runs


def _status(tally):
    """Succeeded when every record read was stored (or already was), failed when none was, else partial."""
    if not tally.rejected:
        return RunStatus.SUCCEEDED
    return RunStatus.FAILED if tally.rejected == tally.read else RunStatus.PARTIAL


def _previous_pull_failed(run):
    """Whether the previous pull of this flow from this system failed as a whole (a ``pull`` event says so)."""
    previous = (
        SyncRun.objects.for_workspace(run.workspace_id)
        .filter(reported_by=run.reported_by_id, flow=run.flow, finished_at__isnull=False)
        .exclude(pk=run.pk)
        .order_by("-started_at", "-id")
        .first()
    )
    if previous is None:
        return False
    return previous.events.filter(record_type=PULL_RECORD_TYPE, outcome=Outcome.FAILED).exists()


def _failed(system, kind, run, cursor, tally, code, message, retryable=False):
    payload = {"record_type": kind.name, "cursor": cursor.cursor, "retryable": retryable}
    with transaction.atomic():  # the event and the exception it opens commit together, as on ingest
        store_events(system.workspace, [pull_event(system, run, kind, Outcome.FAILED, code, message, payload)])
    return _finish(run, tally, RunStatus.FAILED, message)


def _finish(run, tally, status, message):
    for name, value in tally.counters().items():
        setattr(run, name, value)
    run.status, run.message, run.finished_at = status, message, timezone.now()
    run.save()
    return run
