from django.core.management.base import BaseCommand, CommandError

from opsview.pulls.runs import pull_all
from opsview.systems.kinds import PULL_KINDS, kinds_for
from opsview.systems.models import System
from opsview.telemetry.models import RunStatus
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Pull records from one system now, in the foreground, each kind recorded as a sync run."

    def add_arguments(self, parser):
        parser.add_argument("system", help="System slug within the workspace.")
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument(
            "--record-type",
            action="append",
            choices=list(PULL_KINDS),
            dest="record_types",
            help="Pull only this kind (repeat for more); default: every kind the system provides.",
        )
        parser.add_argument(
            "--from-start", action="store_true", help="Read everything again, ignoring where the last pull stopped."
        )

    def handle(self, *args, system, workspace, record_types, from_start, **options):
        try:
            ws = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"No workspace with slug '{workspace}'.") from None
        try:
            target = System.objects.for_workspace(ws).select_related("workspace").get(slug=system)
        except System.DoesNotExist:
            slugs = ", ".join(System.objects.for_workspace(ws).values_list("slug", flat=True)) or "none"
            raise CommandError(f"No system '{system}' in workspace '{workspace}' (it has: {slugs}).") from None
        provided = [k.name for k in kinds_for(target.vendor)]
        if not provided:
            raise CommandError(f"System '{target.slug}' (vendor {target.vendor or 'none'}) cannot be pulled from.")
        unsupported = sorted(set(record_types or ()) - set(provided))
        if unsupported:
            raise CommandError(
                f"'{target.slug}' does not provide {', '.join(unsupported)}; it provides: {', '.join(provided)}."
            )
        if not target.is_active:
            raise CommandError(f"System '{target.slug}' is deactivated.")
        runs = pull_all(target, record_types, from_start=from_start)
        for run in runs:
            self.stdout.write(f"{run.flow}: {run.status} (run {run.pk}). {run.message}")
        failed = [run.flow for run in runs if run.status in (RunStatus.FAILED, RunStatus.CANCELLED)]
        if failed:
            raise CommandError(f"{', '.join(failed)} did not complete; see the runs above.")
