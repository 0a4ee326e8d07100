"""Sync runs: an integration job starts one, reports progress, and finishes it."""

from django.utils import timezone
from rest_framework import status

from opsview.api.errors import ApiProblem
from opsview.ingest.batches import InvalidRequest, MalformedBatch, check_systems, systems_by_slug
from opsview.ingest.fields import clean_item
from opsview.ingest.schemas import SYNC_RUN_FINISH, SYNC_RUN_PROGRESS, SYNC_RUN_START
from opsview.telemetry.models import SyncRun


class RunAlreadyFinished(ApiProblem):
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, run):
        super().__init__(
            f"Sync run {run.pk} already finished as '{run.status}' at {run.finished_at:%Y-%m-%dT%H:%M:%SZ}; "
            "start a new run instead."
        )


def _clean_one(fields, body):
    if not isinstance(body, dict):
        raise MalformedBatch("The body must be a JSON object.")
    errors = []
    cleaned = clean_item(fields, body, errors, 0)
    return cleaned, errors


def _reject(errors):
    for e in errors:
        e.pop("index", None)
    raise InvalidRequest(errors)


def runs_for(token):
    """The sync runs a token may see: those its own system reported."""
    return SyncRun.objects.for_workspace(token.workspace).filter(reported_by=token.system)


def start_run(token, body):
    """Record the start of a sync run reported by the token's system."""
    cleaned, errors = _clean_one(SYNC_RUN_START, body)
    systems = systems_by_slug(token.workspace)
    if not errors:
        check_systems(token, cleaned, systems, errors, 0)
    if errors:
        _reject(errors)
    return SyncRun.objects.create(
        workspace=token.workspace,
        reported_by=token.system,
        flow=cleaned["flow"],
        source_system=systems[cleaned["source_system"]],
        target_system=systems[cleaned["target_system"]],
        external_id=cleaned["external_id"],
        started_at=cleaned["started_at"] or timezone.now(),
        records_total=cleaned["records_total"],
    )


def _apply_counters(run, cleaned, errors):
    for name in ("records_total", "records_succeeded", "records_failed", "records_skipped"):
        if cleaned.get(name) is not None:
            setattr(run, name, cleaned[name])
    if cleaned.get("message") is not None:
        run.message = cleaned["message"]
    done = run.records_succeeded + run.records_failed + run.records_skipped
    if run.records_total is not None and done > run.records_total:
        errors.append(
            {
                "field": "records_total",
                "message": f"succeeded + failed + skipped ({done}) exceeds records_total ({run.records_total})",
            }
        )


def report_progress(token, run, body):
    """Set a running run's counters (absolute values, so a resent report is harmless)."""
    if run.is_finished:
        raise RunAlreadyFinished(run)
    cleaned, errors = _clean_one(SYNC_RUN_PROGRESS, body)
    if not errors:
        _apply_counters(run, cleaned, errors)
    if errors:
        _reject(errors)
    run.save()
    return run


def finish_run(token, run, body):
    """Close a run with its final status and counters. Resending the same finish is harmless."""
    cleaned, errors = _clean_one(SYNC_RUN_FINISH, body)
    if run.is_finished:
        if not errors and cleaned["status"] == run.status:
            return run
        raise RunAlreadyFinished(run)
    if not errors:
        _apply_counters(run, cleaned, errors)
        run.status = cleaned["status"]
        run.finished_at = cleaned["finished_at"] or timezone.now()
        if run.finished_at < run.started_at:
            errors.append({"field": "finished_at", "message": "is before the run's started_at"})
    if errors:
        _reject(errors)
    run.save()
    return run
