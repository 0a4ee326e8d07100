"""Removing sync events past a workspace's retention, in small batches, keeping what open exceptions need.

An open (or snoozed) exception needs its last event (the payload a replay sends and the detail page
shows) and the history of its record (the detail page's event list). Those are kept whatever their
age; they go in a later prune once the exception is resolved. A resolved exception's link to a
pruned event is cleared, as deleting the event through the ORM would.

Each batch is its own short transaction: ingest, replays and the pages keep working while a prune
runs, and an interrupted prune leaves nothing half-done (run it again).
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from opsview.queues.models import PENDING, ExceptionItem
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.models import Workspace

BATCH_SIZE = 1000
MAX_REFUSED_BATCHES = 3


@dataclass
class PruneResult:
    workspace: Workspace
    cutoff: object
    deleted: int = 0
    kept: int = 0  # past retention, but an open exception needs them


def needed_by_open_exceptions(workspace):
    """A condition on sync events: a pending exception refers to it or shows it in its record's history.

    Written against the event row itself (two anti-joins on the small exceptions table) so that the
    batches below stay index scans on the events however many there are.
    """
    pending = ExceptionItem.objects.filter(workspace=workspace, status__in=PENDING)
    same_record = pending.filter(
        source_system_id=OuterRef("source_system_id"),
        record_type=OuterRef("record_type"),
        external_id=OuterRef("external_id"),
    )
    return Exists(same_record) | Exists(pending.filter(last_event_id=OuterRef("pk")))


def expired(workspace, now=None):
    """Events of ``workspace`` older than its retention, by when they happened."""
    cutoff = (now or timezone.now()) - timedelta(days=workspace.event_retention_days)
    return SyncEvent.objects.filter(workspace=workspace, occurred_at__lt=cutoff), cutoff


def prune_workspace(workspace, now=None, batch_size=BATCH_SIZE, pause=0.0, dry_run=False):
    """Delete ``workspace``'s expired events that no open exception needs; returns a PruneResult."""
    old, cutoff = expired(workspace, now)
    needed = needed_by_open_exceptions(workspace)
    result = PruneResult(workspace, cutoff, kept=old.filter(needed).count())
    removable = old.exclude(needed).order_by("occurred_at", "id").values_list("pk", flat=True)
    if dry_run:
        result.deleted = removable.count()
        return result
    refused = 0
    while True:
        ids = list(removable[:batch_size])
        if not ids:
            return result
        try:
            result.deleted += _delete_batch(ids)
        except IntegrityError:
            # An exception came to point at one of these events meanwhile (the database's foreign key
            # refused the delete): nothing of the batch was removed; the next pass picks again.
            refused += 1
            if refused > MAX_REFUSED_BATCHES:
                raise
            continue
        refused = 0
        if pause:
            time.sleep(pause)


def _delete_batch(ids):
    with transaction.atomic():
        # Still-pending exceptions keep theirs: an exception that reopened since the batch was chosen.
        ExceptionItem.objects.filter(last_event_id__in=ids).exclude(status__in=PENDING).update(last_event=None)
        still_needed = set(ExceptionItem.objects.filter(last_event_id__in=ids).values_list("last_event_id", flat=True))
        ids = [pk for pk in ids if pk not in still_needed]
        if not ids:
            return 0
        # A plain DELETE: the ORM's would first load every row (payloads included) to run on_delete rules,
        # which the UPDATE above has already applied.
        table = connection.ops.quote_name(SyncEvent._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
            return cursor.rowcount


def prune(workspaces=None, now=None, batch_size=BATCH_SIZE, pause=0.0, dry_run=False):
    """Prune every workspace (or those given); yields one PruneResult per workspace as it finishes."""
    for workspace in workspaces if workspaces is not None else Workspace.objects.order_by("pk"):
        yield prune_workspace(workspace, now=now, batch_size=batch_size, pause=pause, dry_run=dry_run)
