import orjson
from django.conf import settings
from rest_framework import exceptions, parsers


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


class LimitedJSONParser(parsers.BaseParser):
    """JSON bodies up to ``INGEST_MAX_BODY_BYTES``, parsed with orjson."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.INGEST_MAX_BODY_BYTES
        too_large = PayloadTooLarge(
            f"The body may be at most {limit} bytes ({limit // (1024 * 1024)} MiB). Send smaller batches."
        )
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        if stream is None:
            raise exceptions.ParseError("The body is empty; send a JSON object.")
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise too_large
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(f"The body is not valid JSON: {error}") from None
