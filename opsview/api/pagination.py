"""Pages of API lists: ``?limit=`` and ``?offset=`` within bounds, or a 400 that says which."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

from opsview.common.bounds import OutOfBounds, bounded_int

MAX_LIMIT = 1000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return self._param(request, self.limit_query_param, 1, MAX_LIMIT, self.default_limit)

    def get_offset(self, request):
        return self._param(request, self.offset_query_param, 0, 10**12, 0)

    def _param(self, request, name, minimum, maximum, default):
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return bounded_int(raw, minimum, maximum)
        except OutOfBounds as problem:
            raise ValidationError({name: [f"?{name}= {problem}"]}) from None
