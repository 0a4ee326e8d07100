"""``manage.py check_connections [--workspace SLUG]``: test every active system's connection, one line each.

Prints ``system=<slug> workspace=<slug> ok=<1|0> detail="..."`` per system and exits 1 if any is not ok,
so a monitor or a deploy script can run it. Each outcome is remembered on the system and audited.
"""

from django.core.management.base import BaseCommand, CommandError

from opsview.systems.models import System
from opsview.systems.services import check_connection
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Test each active system's connection through its connector; exit 1 if any is not ok."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="only this workspace's systems (its slug)")

    def handle(self, *args, workspace=None, **options):
        systems = System.objects.filter(is_active=True).select_related("workspace").order_by("workspace__slug", "slug")
        if workspace:
            if not Workspace.objects.filter(slug=workspace).exists():
                raise CommandError(f"No workspace '{workspace}'.")
            systems = systems.filter(workspace__slug=workspace)
        failed = 0
        for system in systems:
            ok, detail = check_connection(system, actor_label="check_connections")
            failed += not ok
            quoted = detail.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
            self.stdout.write(f'system={system.slug} workspace={system.workspace.slug} ok={int(ok)} detail="{quoted}"')
        if failed:
            raise CommandError(f"{failed} of {len(systems)} systems are not ok.")
