"""Rules every ingest batch obeys, whatever it carries."""

from django.conf import settings
from rest_framework import status

from opsview.api.errors import ApiProblem


class InvalidRequest(ApiProblem):
    """The request is invalid; ``errors`` lists each problem as ``{field, message}``."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors

    @property
    def detail(self):
        return "The request is invalid; nothing was written."


class BatchRejected(InvalidRequest):
    """Some items are invalid; nothing of the batch was written. Errors carry their item's index."""

    def __init__(self, errors, received):
        super().__init__(errors)
        self.received = received

    @property
    def invalid_items(self):
        return len({e["index"] for e in self.errors})

    @property
    def detail(self):
        return f"{self.invalid_items} of {self.received} items are invalid; nothing of the batch was written."


class BatchTooLarge(ApiProblem):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, received):
        limit = settings.INGEST_MAX_BATCH_ITEMS
        super().__init__(f"A batch holds at most {limit} items; this one has {received}. Send it in smaller batches.")


class MalformedBatch(ApiProblem):
    """The body is JSON but not a batch."""


def items_of(body):
    """The list of items in a batch body ``{"items": [...]}``, checked for shape and size."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise MalformedBatch("The body must be a JSON object with an 'items' list.")
    extra = sorted(set(body) - {"items"})
    if extra:
        raise MalformedBatch(f"Unknown top-level field(s): {', '.join(extra)}. Only 'items' is allowed.")
    items = body["items"]
    if not items:
        raise MalformedBatch("The 'items' list is empty; send at least one item.")
    if len(items) > settings.INGEST_MAX_BATCH_ITEMS:
        raise BatchTooLarge(len(items))
    return items


def systems_by_slug(workspace):
    from opsview.systems.models import System

    return {s.slug: s for s in System.objects.for_workspace(workspace)}


def check_systems(token, cleaned, systems, errors, index):
    """Resolve ``source_system``/``target_system`` slugs; the token's own system must be one of them."""
    for name in ("source_system", "target_system"):
        slug = cleaned.get(name)
        if slug is not None and slug not in systems:
            errors.append({"index": index, "field": name, "message": f"no system '{slug}' in this workspace"})
    if token.system.slug not in (cleaned.get("source_system"), cleaned.get("target_system")):
        errors.append(
            {
                "index": index,
                "field": "source_system",
                "message": f"this token belongs to system '{token.system.slug}', "
                "which must be the source or the target",
            }
        )
