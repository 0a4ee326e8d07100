"""Integration jobs authenticate with a bearer token that belongs to one system."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from opsview.systems.models import ApiToken, hash_token

# Recording every use would add a write to every ingest request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class IntegrationPrincipal:
    """Stands in for ``request.user`` when an integration token authenticated the request."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, token):
        self.token = token

    def __str__(self):
        return f"token {self.token.hint}… of {self.token.system.slug}"

    def get_username(self):
        return str(self)


class SystemTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from None
        token = ApiToken.objects.select_related("system", "workspace").filter(key_hash=hash_token(raw)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked; ask a workspace admin for a new one.")
        if not token.system.is_active:
            raise exceptions.AuthenticationFailed(f"System '{token.system.slug}' is deactivated.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return IntegrationPrincipal(token), token

    def authenticate_header(self, request):
        return self.keyword


class SystemTokenScheme(OpenApiAuthenticationExtension):
    target_class = SystemTokenAuthentication
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token of one system of one workspace."}
