"""Ingesting sync events: what happened to each record in a run."""

from django.db import transaction
from django.utils import timezone

from opsview.ingest.batches import BatchRejected, check_systems, items_of, systems_by_slug
from opsview.ingest.fields import clean_item
from opsview.ingest.schemas import SYNC_EVENT
from opsview.queues import sync_failures
from opsview.telemetry.models import Outcome, SyncEvent, SyncRun


def ingest_sync_events(token, body):
    """Store a batch of sync events for the token's workspace, all or nothing.

    Events already stored (same ``event_id``) are counted as duplicates and
    left as they are, so a job may resend a batch safely.
    """
    items = items_of(body)
    workspace = token.workspace
    systems = systems_by_slug(workspace)
    errors, valid = [], []
    for index, item in enumerate(items):
        before = len(errors)
        cleaned = clean_item(SYNC_EVENT, item, errors, index)
        if cleaned is None or len(errors) > before:
            continue
        check_systems(token, cleaned, systems, errors, index)
        if cleaned.get("outcome") == Outcome.FAILED and not (cleaned.get("error_code") or cleaned.get("error_message")):
            errors.append({"index": index, "field": "error_message", "message": "a failed event needs an error"})
        if len(errors) == before:
            valid.append((index, cleaned))

    run_ids = {c["run"] for _, c in valid if c["run"] is not None}
    if run_ids:
        known = set(
            SyncRun.objects.for_workspace(workspace)
            .filter(id__in=run_ids, reported_by=token.system)
            .values_list("id", flat=True)
        )
        for index, cleaned in valid:
            if cleaned["run"] is not None and cleaned["run"] not in known:
                errors.append(
                    {"index": index, "field": "run", "message": f"no sync run {cleaned['run']} reported by this system"}
                )
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise BatchRejected(errors, len(items))

    unique = {}
    for _, cleaned in valid:
        unique.setdefault(cleaned["event_id"], cleaned)
    stored = set(
        SyncEvent.objects.for_workspace(workspace).filter(event_id__in=list(unique)).values_list("event_id", flat=True)
    )
    now = timezone.now()
    new_events = [
        SyncEvent(
            workspace=workspace,
            event_id=event_id,
            run_id=c["run"],
            record_type=c["record_type"],
            external_id=c["external_id"],
            source_system=systems[c["source_system"]],
            target_system=systems[c["target_system"]],
            outcome=c["outcome"],
            error_code=c["error_code"],
            error_message=c["error_message"],
            payload=c["payload"],
            correlation_id=c["correlation_id"],
            occurred_at=c["occurred_at"],
            received_at=now,
        )
        for event_id, c in unique.items()
        if event_id not in stored
    ]
    # ignore_conflicts covers a concurrent sender of the same events. The queue update commits with the
    # events: if it failed alone, a resent batch would be all duplicates and its exceptions never open.
    with transaction.atomic():
        SyncEvent.objects.bulk_create(new_events, ignore_conflicts=True, batch_size=1000)
        sync_failures.on_sync_events(workspace, new_events)
    return {"received": len(items), "created": len(new_events), "duplicates": len(items) - len(new_events)}
