from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from opsview.demo.erp.connect import connect_demo_erp
from opsview.demo.generator import DEFAULT_SEED, DemoError, demo_workspaces, reset_demo, seed_demo
from opsview.demo.plan import Sizes
from opsview.demo.planting import PLANTS_FILE, write_plants
from opsview.workspaces.models import Workspace


def positive(value):
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Load demo data: professional-services firms with six months of time entries ending today, "
        "invoices, sync runs and events with realistic ERP failures, and one login per role."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any workspace exists.")
        parser.add_argument("--reset", action="store_true", help="Delete the demo workspaces first, then seed.")
        parser.add_argument(
            "--without-erp",
            action="store_true",
            help="Do not look for the demo ERP (Tryton): its systems stay without settings.",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Random seed; the same seed gives the same data."
        )
        parser.add_argument("--workspaces", type=positive, help="Number of firms (default 2, more for large sizes).")
        parser.add_argument("--people", type=positive, help="People in all firms together (default 150).")
        parser.add_argument("--time-entries", type=positive, help="About this many time entries in total.")
        parser.add_argument("--sync-events", type=positive, help="About this many sync events in total.")
        parser.add_argument(
            "--method",
            choices=("auto", "copy", "insert", "bulk"),
            default="auto",
            help="How the big tables are written: COPY (PostgreSQL only), executemany, bulk_create; "
            "auto is COPY on PostgreSQL, else executemany.",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Workspace.objects.exists():
            self.stdout.write("Workspaces exist already; demo data not loaded.")
            return
        if options["reset"]:
            try:
                removed = reset_demo()
            except DemoError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Removed {removed} demo workspace(s).")
        sizes = Sizes.resolve(
            workspaces=options["workspaces"],
            people=options["people"],
            time_entries=options["time_entries"],
            sync_events=options["sync_events"],
        )
        progress = self.stdout.write if options["verbosity"] >= 1 else None
        try:
            summary = seed_demo(sizes, seed=options["seed"], method=options["method"], progress=progress)
        except DemoError as exc:
            raise CommandError(f"{exc} Run with --reset to replace the demo data, or --if-empty to skip.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded in {summary.seconds:.1f} s: {summary.workspaces} workspaces, {summary.people} people, "
                f"{summary.projects} projects, {summary.time_entries} time entries, {summary.invoices} invoices, "
                f"{summary.sync_runs} sync runs, {summary.sync_events} sync events, {summary.postings} postings "
                f"in the ERP and billing, {summary.planted} planted reconciliation gaps (listed in {PLANTS_FILE})."
            )
        )
        write_plants(summary.plants, settings.VAR_DIR / PLANTS_FILE)
        if not options["without_erp"] and connect_demo_erp(demo_workspaces(), progress) is None:
            self.stdout.write("The demo ERP (Tryton) is not running: the Tryton systems are left without settings.")
        if options["verbosity"] >= 1:
            call_command("demo_logins", stdout=self.stdout)
