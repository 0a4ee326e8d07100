"""Open exceptions for sync events and states stored before the queues existed (or loaded around ingest).

Replays every stored sync event through the same detection ingest uses, oldest first, then runs the
business-state rules. Safe to run again: detection is idempotent.
"""

from django.core.management.base import BaseCommand

from opsview.queues import state_rules, sync_failures
from opsview.queues.models import ExceptionItem
from opsview.telemetry.models import SyncEvent
from opsview.workspaces.models import Workspace

CHUNK = 1000


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="slug of one workspace (default: all)")
        parser.add_argument("--if-empty", action="store_true", help="skip workspaces that have exceptions already")

    def handle(self, *args, workspace=None, if_empty=False, **options):
        workspaces = Workspace.objects.all()
        if workspace:
            workspaces = workspaces.filter(slug=workspace)
        for ws in workspaces:
            if if_empty and ExceptionItem.objects.for_workspace(ws).exists():
                continue
            events = SyncEvent.objects.for_workspace(ws).exclude(outcome="skipped").order_by("occurred_at", "id")
            done, batch = 0, []
            for event in events.iterator(chunk_size=CHUNK):
                batch.append(event)
                if len(batch) == CHUNK:
                    sync_failures.on_sync_events(ws, batch)
                    done, batch = done + len(batch), []
            if batch:
                sync_failures.on_sync_events(ws, batch)
                done += len(batch)
            state_rules.scan_workspace(ws)
            self.stdout.write(f"{ws.slug}: {done} sync events and every business state checked.")
