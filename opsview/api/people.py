"""The base of every endpoint a person calls (operations, KPIs): a personal token or the signed-in session.

An integration token is refused here with a 403 that says so, as a person's token is on the ingest API.
What the person does through these endpoints goes through the same services as the pages, so it is
permission-checked and audited the same; the audit trail adds how they acted (``through_api``).
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from opsview.accounts.models import PersonalToken
from opsview.api.authentication import PersonalTokenAuthentication, SystemTokenAuthentication
from opsview.api.errors import error_response
from opsview.audit.trail import acting_through
from opsview.systems.models import ApiToken

PERSON_AUTHENTICATION = [PersonalTokenAuthentication, SystemTokenAuthentication, SessionAuthentication]


class IsPerson(BasePermission):
    message = (
        "This endpoint acts as a person: send a personal token (opp_…, created under My API tokens at "
        "/account/tokens/) or sign in. An integration token (opv_…) only reports to the ingest API."
    )

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and not isinstance(request.auth, ApiToken)


# An endpoint for people: their personal token or their session. (No docstring: drf-spectacular would
# print it as the description of every endpoint built on it.)
class PersonView(APIView):
    authentication_classes = PERSON_AUTHENTICATION
    permission_classes = [IsPerson]


def through_api(request):
    """A context in which the audit trail notes that the person acted through the API, and with which token."""
    token = request.auth
    return acting_through(f"API token {token.hint}…" if isinstance(token, PersonalToken) else "API")


# What every person's endpoint may answer besides success, all in the API's error shape.
PERSON_ERRORS = {
    401: error_response("Missing, unknown, revoked or expired personal token, or a deactivated user."),
    403: error_response("An integration token, or a role that does not allow this; `detail` says which."),
}
