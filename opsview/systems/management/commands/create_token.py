from django.core.management.base import BaseCommand, CommandError

from opsview.systems.models import System
from opsview.systems.services import issue_token
from opsview.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Create an API token for one system of one workspace and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--system", required=True, help="System slug within the workspace.")
        parser.add_argument("--name", required=True, help="What uses the token, e.g. 'nightly Harvest sync'.")

    def handle(self, *args, workspace, system, name, **options):
        try:
            ws = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"No workspace with slug '{workspace}'.") from None
        try:
            target = System.objects.for_workspace(ws).get(slug=system)
        except System.DoesNotExist:
            slugs = ", ".join(System.objects.for_workspace(ws).values_list("slug", flat=True)) or "none"
            raise CommandError(f"No system '{system}' in workspace '{workspace}' (it has: {slugs}).") from None
        token, raw = issue_token(None, target, name, actor_label="manage.py create_token")
        self.stderr.write(f"Token '{token.name}' for {ws.slug}/{target.slug} created; it is not shown again:")
        self.stdout.write(raw)
