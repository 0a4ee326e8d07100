"""Bearer tokens: an integration job's (``opv_…``, one system of one workspace) and a person's (``opp_…``).

Both come in the same header, ``Authorization: Bearer <token>``; the prefix says which kind it is, so
each authentication class takes only its own and the endpoint's permission then answers a clear 403 to
the other kind (an integration token cannot act as a person; a person cannot report as a system).
"""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from opsview.accounts.models import PERSONAL_TOKEN_PREFIX, PersonalToken
from opsview.systems.models import ApiToken, hash_token
from opsview.workspaces.models import Membership
from opsview.workspaces.scoping import remember_roles

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


def bearer_token(request):
    """The token of an ``Authorization: Bearer <token>`` header; None without one; 401 when malformed."""
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != b"bearer":
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed("The token contains invalid characters.") from None


def is_personal(raw):
    return raw.startswith(PERSONAL_TOKEN_PREFIX)


class SystemTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = bearer_token(request)
        if raw is None or is_personal(raw):
            return None  # a person's token is PersonalTokenAuthentication's
        token = ApiToken.objects.with_key(raw)
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


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """A person's own token (``opp_…``): the request is the person's, with their firms and roles as of now.

    The memberships are read on every request, as the session's middleware does for a page: a role changed,
    a membership removed or an account deactivated applies to the very next call.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        raw = bearer_token(request)
        if raw is None or not is_personal(raw):
            return None
        token = PersonalToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown personal token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                "This personal token was revoked; create a new one under Personal tokens (/account/tokens/)."
            )
        now = timezone.now()
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                f"This personal token expired on {token.expires_at:%Y-%m-%d}; "
                "create a new one under Personal tokens (/account/tokens/)."
            )
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This personal token's user is deactivated.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.memberships = list(Membership.objects.filter(user=user).select_related("workspace"))
        remember_roles(user, token.memberships)
        return user, token

    def authenticate_header(self, request):
        return self.keyword


def memberships_of(request):
    """The requesting person's memberships (with their workspaces), read once for this request.

    A page's middleware reads them for the session before DRF authenticates, so for a personal token
    they are read by the authentication instead; an integration token has none.
    """
    if isinstance(request.auth, PersonalToken):
        return request.auth.memberships
    if isinstance(request.auth, ApiToken):
        return []
    return getattr(request, "memberships", [])


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = PersonalTokenAuthentication
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A person's own API token (opp_…, under Personal tokens): acts as that person, "
            "in their firms, with their role in each.",
        }
