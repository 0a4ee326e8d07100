"""The base of every endpoint a person calls (operations, KPIs): a personal token or the signed-in session.

An integration token is refused here with a 403 that says so, as a person's token is on the ingest API.
What the person does through these endpoints goes through the same services as the pages, so it is
permission-checked and audited the same; the audit trail adds how they acted (``through_api``).
"""

from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from opsview.accounts.models import PersonalToken
from opsview.api.authentication import PersonalTokenAuthentication, SystemTokenAuthentication, memberships_of
from opsview.api.errors import ApiProblem, error_response
from opsview.audit.trail import acting_through
from opsview.systems.models import ApiToken

MAX_IDS = 1000  # ids in one request: as many as an ingest batch, a group's worth in one call
TAGS = ["operations"]
PERSON_AUTHENTICATION = [PersonalTokenAuthentication, SystemTokenAuthentication, SessionAuthentication]


class IsPerson(BasePermission):
    message = (
        "This endpoint acts as a person: send a personal token (opp_…, created under Personal tokens at "
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
# And what one that takes a body may answer too.
BODY_ERRORS = {
    413: error_response("A body over the size limit, which the message states."),
    415: error_response("The body is not application/json."),
}


class Refused(ApiProblem):
    """A refusal in the service's own words (400: what was asked cannot be done as asked)."""


class UnknownIds(ApiProblem):
    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, ids, what="exception"):
        shown = ", ".join(map(str, ids[:20])) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        super().__init__(
            f"No {what} {shown} among yours: unknown, or of a firm or project you do not see. Nothing was changed."
        )
        self.errors = [{"field": "ids", "id": i, "message": f"no {what} {i} among yours"} for i in ids]


class NotAmongYours(ApiProblem):
    status_code = status.HTTP_404_NOT_FOUND


class StrictSerializer(serializers.Serializer):
    """A request body whose unknown fields are errors, so a typo never passes silently as 'not given'."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return attrs


def firm_of(request, slug):
    """The workspace named ``slug`` among the requesting person's; 404 for any other."""
    for membership in memberships_of(request):
        if membership.workspace.slug == slug:
            return membership.workspace
    raise NotAmongYours(f"No firm '{slug[:80]}' among yours.")


class FirmSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
