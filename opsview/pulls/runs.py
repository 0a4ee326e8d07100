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
from opsview.ingest.events import store_events
from opsview.pulls.models import PullCursor
from opsview.pulls.pages import CursorMoved, Tally, store_page
from opsview.pulls.recording import PULL_RECORD_TYPE, pull_event
from opsview.systems.connection import build_connector, connector_for
from opsview.systems.kinds import PULL_KINDS, kinds_for
from opsview.telemetry.models import Outcome, RunStatus, SyncRun

logger = logging.getLogger(__name__)
STOPPED = (RunStatus.FAILED, RunStatus.CANCELLED)
UNREADABLE = "unreadable_record"


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
            for page in _read(iter_pages(getattr(source, kind.fetch), None if from_start else cursor.cursor or None)):
                tally += store_page(system, kind, run, cursor, page, tally)
    except ConnectorError as error:
        return _failed(system, kind, run, cursor, tally, error.code, error.message, retryable=error.retryable)
    except UnreadableRecord as unreadable:
        logger.warning("pull %s from system %s: %s", kind.name, system.pk, unreadable.cause, exc_info=unreadable.cause)
        return _failed(system, kind, run, cursor, tally, UNREADABLE, _unreadable_message(system, kind, unreadable))
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
            if runs[-1].status in STOPPED and not _stopped_at_unreadable_record(runs[-1]):
                break
    return runs


class UnreadableRecord(Exception):
    """The source sent a page with a record its connector could not read (a field missing or of another type)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


def _read(pages):
    """The pages, with a failure to read one (other than the connector's own errors) made an UnreadableRecord."""
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except ConnectorError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
            raise UnreadableRecord(error) from error
        yield page


def _unreadable_message(system, kind, unreadable):
    cause = unreadable.cause
    detail = f"field {cause} is missing" if isinstance(cause, KeyError) else f"{type(cause).__name__}: {cause}"
    return (
        f"A record {system.name} sent among its {kind.name.replace('_', ' ')} could not be read ({detail}). "
        "The pages before it are stored and the pull goes on with the other kinds; this one resumes from the same "
        "place once the record is fixed at the source."
    )


def _stopped_at_unreadable_record(run):
    """A record the source sent malformed stops its own kind only; a record of a later kind that refers to
    something not stored because of it shows as a missing mapping, as when the source sends them out of order."""
    return run.events.filter(record_type=PULL_RECORD_TYPE, outcome=Outcome.FAILED, error_code=UNREADABLE).exists()


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
