"""Every API error answers as ``{"detail": "...", "errors": [...]}``."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiProblem(Exception):
    """A request the API refuses, answered in the error shape with ``status_code``.

    The apps' own errors (an invalid batch, a finished run) derive from it, so this module needs to
    know none of them.
    """

    status_code = status.HTTP_400_BAD_REQUEST
    errors = None  # each problem, where there is a list of them

    @property
    def detail(self):
        return str(self)


class ApiError(serializers.Serializer):
    """The body of every error answer, declared in the schema so clients can rely on it."""

    detail = serializers.CharField(help_text="What is wrong, in words fit to show a person.")
    errors = serializers.JSONField(
        required=False, help_text="Each problem by index, field and message, where there is more than one."
    )


def error_response(description):
    """A documented error answer of the API, with the error shape."""
    return OpenApiResponse(ApiError, description=description)


@csrf_exempt  # it changes nothing; a 403 for a missing CSRF token would hide the 404
def unknown_endpoint(request, *args, **kwargs):
    """Any path under the API that matches no endpoint: a 404 in the API's shape, not the HTML page."""
    return JsonResponse({"detail": f"No API endpoint at {request.path[:200]!r}."}, status=status.HTTP_404_NOT_FOUND)


def exception_handler(exc, context):
    """DRF's handler, with every answer in the error shape: ``{"detail": ..., "errors": [...]}``."""
    if isinstance(exc, ApiProblem):
        body = {"detail": exc.detail} if exc.errors is None else {"detail": exc.detail, "errors": exc.errors}
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found in this workspace."}, status=status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "The request is invalid.", "errors": response.data}
    return response
