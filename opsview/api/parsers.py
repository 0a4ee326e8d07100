import orjson
from django.conf import settings
from rest_framework import exceptions, parsers


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


def parse_json(text):
    """A body's JSON text as Python values; a 400 that quotes the parser when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise exceptions.ParseError(f"The body is not valid JSON: {error}") from None


class LimitedJSONParser(parsers.BaseParser):
    """JSON bodies up to ``INGEST_MAX_BODY_BYTES``, parsed with orjson."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json(self.read(stream, parser_context))

    def read(self, stream, parser_context):
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
        return data


class UnparsedJSON:
    """A JSON body read within the size limit and not parsed yet, for an endpoint that first tries a faster
    reader of its own; ``parsed()`` answers what ``LimitedJSONParser`` would have, errors included."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def parsed(self):
        return parse_json(self.text)


class UnparsedJSONParser(LimitedJSONParser):
    """As ``LimitedJSONParser``, leaving the parsing to the view (``UnparsedJSON``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return UnparsedJSON(self.read(stream, parser_context))
