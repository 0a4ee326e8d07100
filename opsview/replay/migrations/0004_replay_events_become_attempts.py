"""Replay attempts that were stored as sync events ("replay:<id>:<attempt>:<outcome>") become attempts
on their replay, and leave the sync events: the sync KPIs count only the integration jobs' own outcomes.

Days already rolled up keep their old counts until recomputed (``manage.py rollup_kpis --recompute``).
"""

from django.db import migrations

PREFIX = "replay:"
OUTCOMES = {"succeeded": "succeeded", "failed": "failed"}


def move(apps, schema_editor):
    SyncEvent = apps.get_model("telemetry", "SyncEvent")
    Replay = apps.get_model("replay", "Replay")
    ReplayAttempt = apps.get_model("replay", "ReplayAttempt")
    ExceptionItem = apps.get_model("queues", "ExceptionItem")
    events = SyncEvent.objects.filter(event_id__startswith=PREFIX).select_related("target_system")
    moved = []
    for event in events.iterator(chunk_size=1000):
        _, replay_id, number, outcome = (event.event_id.split(":") + ["", "", ""])[:4]
        replay = Replay.objects.filter(pk=int(replay_id)).first() if replay_id.isdigit() else None
        if replay is not None and number.isdigit():
            payload = event.payload if isinstance(event.payload, dict) else {}
            ReplayAttempt.objects.create(
                workspace_id=event.workspace_id, replay=replay, number=int(number), started_at=event.occurred_at,
                finished_at=event.occurred_at, outcome=OUTCOMES.get(outcome, "failed"),
                error_code=event.error_code, error_message=event.error_message,
                request={"to": event.target_system.name, "record_type": event.record_type,
                         "external_id": event.external_id, "idempotency_key": event.correlation_id,
                         "fields": sorted(payload), "edited": replay.edited_payload is not None},
            )
        moved.append(event.pk)
    for start in range(0, len(moved), 1000):
        chunk = moved[start : start + 1000]
        ExceptionItem.objects.filter(last_event_id__in=chunk).update(last_event=None)
        SyncEvent.objects.filter(pk__in=chunk).delete()


class Migration(migrations.Migration):
    dependencies = [("replay", "0003_attempts_and_source_resends"), ("telemetry", "0002_sync_event_references_checked_by_ingest"),
                    ("queues", "0003_counts_index")]
    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
