"""`manage.py prune` removes sync events past the workspace's retention and keeps what open exceptions need."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from opsview.queues import services
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent
from tests.queue_support import failure, send, success


def days_ago(n):
    return timezone.now().replace(microsecond=0) - timedelta(days=n)


def event_ids(firm):
    return set(SyncEvent.objects.for_workspace(firm.workspace).values_list("event_id", flat=True))


def prune(*args):
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(api, northwind, contoso, olivia):
    """Northwind keeps 60 days: old successes, a record still failing, a failure someone resolved."""
    SyncEvent.objects.filter(event_id="ev-1").delete()  # the cast's event, dated by the calendar
    northwind.workspace.event_retention_days = 60
    northwind.workspace.save()
    send(
        api,
        *[success(f"TE-OK-{n}", at=days_ago(100 + n), event_id=f"old-ok-{n}") for n in range(5)],
        success("TE-NEW", at=days_ago(5), event_id="recent"),
        success("TE-OPEN", at=days_ago(120), event_id="open-history"),
        failure("TE-OPEN", at=days_ago(90), event_id="open-last"),
        failure("TE-DONE", at=days_ago(100), event_id="resolved-last"),
    )
    done = ExceptionItem.objects.filter(workspace=northwind.workspace, external_id="TE-DONE")
    services.resolve(olivia, northwind.workspace, done, "fixed_at_source", "Period reopened and posted by hand")
    SyncEvent.objects.filter(workspace=contoso.workspace).delete()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {contoso.raw_token}")
    send(other, success("TE-C", at=days_ago(100), event_id="contoso-old"))


def test_prune_removes_expired_events_in_batches_and_keeps_what_an_open_exception_needs(history, northwind, contoso):
    output = prune("--batch-size", "2")

    assert event_ids(northwind) == {"recent", "open-history", "open-last"}
    assert event_ids(contoso) == {"contoso-old"}  # 100 days is within Contoso's default 400
    assert "northwind: removed 6 sync events" in output and "kept 2 an open exception needs" in output
    assert "contoso: removed 0 sync events" in output and output.rstrip().endswith("removed 6 sync events in all")
    still_open = ExceptionItem.objects.get(workspace=northwind.workspace, external_id="TE-OPEN")
    assert still_open.status == "open" and still_open.last_event.event_id == "open-last"
    resolved = ExceptionItem.objects.get(workspace=northwind.workspace, external_id="TE-DONE")
    assert (resolved.status, resolved.resolution, resolved.last_event) == ("resolved", "fixed_at_source", None)


def test_once_its_exception_is_resolved_a_record_history_goes_at_the_next_prune(history, northwind, olivia):
    prune()
    still_open = ExceptionItem.objects.filter(workspace=northwind.workspace, external_id="TE-OPEN")
    services.resolve(olivia, northwind.workspace, still_open, "written_off", "Client agreed to drop it")

    assert "northwind: removed 2 sync events" in prune("--workspace", "northwind")
    assert event_ids(northwind) == {"recent"}


def test_a_dry_run_counts_and_removes_nothing(history, northwind):
    before = event_ids(northwind)

    output = prune("--dry-run", "--workspace", "northwind")

    assert "northwind: would remove 6 sync events" in output and "contoso" not in output
    assert event_ids(northwind) == before


def test_an_unknown_workspace_is_refused_by_name(db):
    with pytest.raises(CommandError, match="No workspace with slug nowhere"):
        prune("--workspace", "nowhere")
