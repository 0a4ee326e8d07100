"""Every API error answers as ``{"detail": "...", "errors": [...]}``."""

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from opsview.ingest.batches import BatchRejected, BatchTooLarge, InvalidRequest, MalformedBatch
from opsview.ingest.runs import RunAlreadyFinished


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
    if isinstance(exc, BatchRejected):
        detail = f"{exc.invalid_items} of {exc.received} items are invalid; nothing of the batch was written."
        return Response({"detail": detail, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, InvalidRequest):
        detail = "The request is invalid; nothing was written."
        return Response({"detail": detail, "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, BatchTooLarge):
        return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, MalformedBatch):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RunAlreadyFinished):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found in this workspace."}, status=status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "The request is invalid.", "errors": response.data}
    return response
