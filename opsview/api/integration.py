"""The base of every endpoint an integration job calls with its token, and the errors they all may answer."""

from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from opsview.api.errors import error_response
from opsview.api.throttling import IngestRateThrottle
from opsview.systems.models import ApiToken


class IsIntegration(BasePermission):
    message = (
        "This endpoint takes an integration token (opv_…) of one system: 'Authorization: Bearer <token>'. "
        "A personal token or a signed-in session does not report sync runs, events or states."
    )

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiToken)


# An endpoint for integration jobs: their token only, within the token's rate limit. (No docstring:
# drf-spectacular would print it as the description of every endpoint built on it.)
class IntegrationView(APIView):
    permission_classes = [IsIntegration]
    throttle_classes = [IngestRateThrottle]

    @property
    def token(self):
        return self.request.auth

    def finalize_response(self, request, response, *args, **kwargs):
        # A write the API accepted is data received from the token's system (systems.services.first_data_received).
        if request.method in ("POST", "PUT", "PATCH") and 200 <= response.status_code < 300 and self.token:
            self.token.record_first_batch()
        return super().finalize_response(request, response, *args, **kwargs)


# What every integration endpoint may answer besides success, all in the API's error shape.
READ_ERRORS = {
    401: error_response("Missing, unknown or revoked token."),
    403: error_response("Not an integration token (a personal token or a signed-in session, for instance)."),
    429: error_response("Over the token's rate limit (INGEST_RATE); retry after Retry-After seconds."),
}
LIST_ERRORS = {400: error_response("A malformed ?limit= or ?offset=; `errors` says which."), **READ_ERRORS}
