from django.core.management.base import BaseCommand, CommandError

from opsview.kpis.rollups import DEFAULT_DAYS, rollup_missing_days
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Roll up the daily invoice-ready backlog of past days now (the schedule does it hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="How many finished days back.")
        parser.add_argument("--workspace", help="Only this workspace (slug).")
        parser.add_argument("--recompute", action="store_true", help="Recompute days already rolled up.")

    def handle(self, *args, **options):
        workspaces = Workspace.objects.all()
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces:
                raise CommandError(f"No workspace '{options['workspace']}'.")
        computed = rollup_missing_days(options["days"], list(workspaces), options["recompute"])
        self.stdout.write(f"Rolled up {computed} workspace-day(s).")
