from django.core.management.base import BaseCommand
from django.db import DatabaseError

from opsview.demo.accounts import demo_logins


class Command(BaseCommand):
    help = "Print the demo logins (username, password, role, workspace); harmless when there is no demo data."

    def handle(self, *args, **options):
        try:
            rows = demo_logins()
        except DatabaseError:
            self.stdout.write("No demo logins: the database is not set up yet (run manage.py migrate).")
            return
        if not rows:
            self.stdout.write("No demo logins: run 'manage.py seed_demo' to load the demo data.")
            return
        header = ("username", "password", "role", "workspace")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        self.stdout.write("Demo logins:")
        for row in [header, *rows]:
            self.stdout.write("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
