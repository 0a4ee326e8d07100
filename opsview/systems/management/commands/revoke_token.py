from django.core.management.base import BaseCommand, CommandError

from opsview.systems.models import ApiToken
from opsview.systems.services import revoke_token


class Command(BaseCommand):
    help = "Revoke an API token, given its id or the first characters shown in the UI (e.g. opv_AbC123)."

    def add_arguments(self, parser):
        parser.add_argument("token", help="Token id, or its hint as shown in the token list.")

    def handle(self, *args, token, **options):
        matches = ApiToken.objects.filter(pk=int(token)) if token.isdigit() else ApiToken.objects.filter(hint=token)
        found = list(matches[:2])
        if not found:
            raise CommandError(f"No token '{token}'.")
        if len(found) > 1:
            raise CommandError(f"More than one token starts with '{token}'; give its id instead.")
        revoke_token(None, found[0], actor_label="manage.py revoke_token")
        self.stdout.write(f"Revoked token '{found[0].name}' of {found[0].workspace.slug}/{found[0].system.slug}.")
