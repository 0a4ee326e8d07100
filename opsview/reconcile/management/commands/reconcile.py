"""Reconcile months now: this month (as the daily run does) and, with --months, the months before it
(as their period-close runs would have).

``make run`` calls it once after loading the demo, so the reconciliation page has its months from the start.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from opsview.reconcile.models import ReconciliationRun, Trigger
from opsview.reconcile.periods import BadPeriod, Period
from opsview.reconcile.services import run_reconciliation
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="slug of one workspace (default: all)")
        parser.add_argument("--period", help="one month, YYYY-MM (default: this month)")
        parser.add_argument("--months", type=int, default=1, help="this month and the N-1 before it (default 1)")
        parser.add_argument(
            "--if-never-run", action="store_true", help="skip workspaces that have been reconciled before"
        )

    def handle(self, *args, workspace=None, period=None, months=1, if_never_run=False, **options):
        if months < 1:
            raise CommandError("--months must be 1 or more.")
        try:
            last = Period.parse(period) if period else Period.current()
        except BadPeriod as error:
            raise CommandError(str(error)) from None
        workspaces = Workspace.objects.order_by("slug")
        if workspace:
            workspaces = workspaces.filter(slug=workspace)
            if not workspaces.exists():
                raise CommandError(f"No workspace with slug '{workspace}'.")
        current = Period.current()
        for ws in workspaces:
            if if_never_run and ReconciliationRun.objects.for_workspace(ws).exists():
                continue
            shown = last
            for _ in range(months):
                trigger = Trigger.DAILY if shown == current else Trigger.PERIOD_CLOSE
                run = run_reconciliation(ws, shown, trigger, now=timezone.now())
                self.stdout.write(f"{ws.slug} {shown.label}: {run.gaps_found} gap(s) found, {run.opened} opened.")
                shown = shown.previous()
