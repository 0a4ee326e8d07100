"""Every API error answers as ``{"detail": "...", "errors": [...]}``."""

from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from opsview.ingest.batches import BatchRejected, BatchTooLarge, InvalidRequest, MalformedBatch
from opsview.ingest.runs import RunAlreadyFinished


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
