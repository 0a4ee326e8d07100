import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from opsview.demo.erp import env
from opsview.demo.erp.firms import build_firms, demo_plans
from opsview.demo.erp.settings import erp_port, erp_root, erp_url
from opsview.demo.generator import demo_workspaces

FIXES = ("reopen-timesheets", "reopen-period", "add-tax", "extend-employee", "set-revenue-account")


class Command(BaseCommand):
    help = (
        "The demo's Tryton ERP. 'prepare' installs trytond into var/tryton/venv and builds one database per demo "
        "firm (what is there already is kept); exit status 3 when Tryton cannot be installed. 'fix FIRM COMMAND "
        "ARGS' fixes a refused record's cause in Tryton as an accountant would, through the running server: "
        "reopen-timesheets PROJECT_CODE YYYY-MM-DD, reopen-period YYYY-MM-DD, add-tax NAME RATE, "
        "extend-employee PERSON_CODE YYYY-MM-DD|-, set-revenue-account PRODUCT_NAME."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("prepare", "fix"))
        parser.add_argument("rest", nargs="*")

    def handle(self, action, rest, **options):
        args = rest
        if action == "prepare":
            return self.prepare()
        if len(args) < 2 or args[1] not in FIXES:
            raise CommandError(f"usage: demo_erp fix FIRM ({'|'.join(FIXES)}) ARGS...")
        firm, command, *rest = args
        try:
            out = env.tools(
                erp_root() / "venv",
                command,
                f"{erp_url()}/{firm}/rpc/",
                env.ADMIN_USER,
                env.ADMIN_PASSWORD,
                *rest,
                what=f"{command} in {firm}",
            )
        except env.TrytonUnavailable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(out)

    def prepare(self):
        root, began, timings = erp_root(), time.monotonic(), {}
        # Seeded already: the ERP stays as it is with that data; else it is built for today's seed.
        seeded = demo_workspaces().exists()
        try:
            with env.locked(root):
                venv = env.ensure_venv(root / "venv", timings)
                base = env.ensure_base(root, venv, timings)
                names = build_firms(venv, base, root / "db", demo_plans(date.today()), date.today(), timings, seeded)
                env.write_config(root / "db", erp_port())
        except env.TrytonUnavailable as error:
            first = str(error).strip().splitlines()[0]
            self.stderr.write(f"The demo ERP (Tryton) could not be prepared; going on without it. {first}")
            sys.exit(3)
        (root / "db" / "databases").write_text(" ".join(names))
        measured = ", ".join(f"{k} {v}" for k, v in sorted(timings.items()))
        self.stdout.write(
            f"Demo ERP ready in {time.monotonic() - began:.1f} s ({measured or 'nothing to build'}): "
            f"databases {', '.join(names)} in {root}"
        )
