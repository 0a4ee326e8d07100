"""``manage.py prune``: remove sync events past each workspace's retention (Workspace.event_retention_days)."""

from django.core.management.base import BaseCommand, CommandError

from opsview.ingest.retention import BATCH_SIZE, prune
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Remove sync events older than each workspace's retention (event_retention_days), in batches of short "
        "transactions. Events an open or snoozed exception refers to, and the history of its record, are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", action="append", metavar="SLUG", help="only this workspace (repeatable)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"events per transaction ({BATCH_SIZE})")
        parser.add_argument("--pause", type=float, default=0.0, help="seconds to wait between batches")
        parser.add_argument("--dry-run", action="store_true", help="count what would be removed; remove nothing")

    def handle(self, *args, workspace=None, batch_size, pause, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        workspaces = None
        if workspace:
            workspaces = list(Workspace.objects.filter(slug__in=workspace).order_by("pk"))
            unknown = sorted(set(workspace) - {w.slug for w in workspaces})
            if unknown:
                raise CommandError(f"No workspace with slug {', '.join(unknown)}.")
        verb = "would remove" if dry_run else "removed"
        total = 0
        for result in prune(workspaces, batch_size=batch_size, pause=pause, dry_run=dry_run):
            total += result.deleted
            self.stdout.write(
                f"{result.workspace.slug}: {verb} {result.deleted} sync events before {result.cutoff:%Y-%m-%d %H:%M} "
                f"({result.workspace.event_retention_days} days); kept {result.kept} an open exception needs"
            )
        self.stdout.write(f"{verb} {total} sync events in all")
