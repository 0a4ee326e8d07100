"""The last line of the input bounds: a value out of range that slipped past a form answers 400, not 500.

Every input is bounded where it is read (opsview.common.bounds). A value that still reaches Python
arithmetic or the database out of range ends in one of a few exceptions; whatever view raised it,
the person gets a 400 that says a value was out of range, and the log names the view to fix.
"""

import logging
from decimal import InvalidOperation

from django.db import DataError
from django.http import JsonResponse
from django.shortcuts import render

log = logging.getLogger(__name__)

OUT_OF_RANGE = (OverflowError, InvalidOperation, DataError, RecursionError)
MESSAGE = "A value in the request is out of range (a number too large, or a date outside 1900–2200)."


class OutOfRangeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OUT_OF_RANGE):
            return None
        log.warning("Out-of-range input at %s %s: %r", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE}, status=400)
        return render(request, "400.html", {"problem": MESSAGE}, status=400)
