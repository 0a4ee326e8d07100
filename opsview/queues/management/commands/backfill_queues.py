"""Open exceptions for sync events and states stored before the queues existed (or loaded around ingest).

Replays the stored sync events that can change an exception through the same detection ingest uses,
oldest first (``sync_failures.replay_stored``), then runs the business-state rules. Every exception opened
is first seen when the data first showed it (the failed event, the limit a record passed), not when this
ran: a backfill is not a day's new exceptions. Each workspace is
done in one transaction, all or nothing. Safe to run again: detection is idempotent.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from opsview.queues import state_rules, sync_failures
from opsview.queues.models import ExceptionItem
from opsview.workspaces.models import Workspace


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
            with transaction.atomic():
                done = sync_failures.replay_stored(ws)
                state_rules.scan_workspace(ws, backfill=True)
            self.stdout.write(f"{ws.slug}: {done} sync events and every business state checked.")
