"""The audit page's filters: who, which action, on what, and between which days.

A value that cannot be used (a date that is not a day) is left out of the filter, so the page lists
what the other filters ask for instead of failing.
"""

from datetime import datetime, time

import django_filters
from django.db.models import Q
from django.utils import timezone

from opsview.audit.models import AuditEntry
from opsview.audit.trail import VIA

# The action filter matches by prefix: a family ("exception.") or one action ("exception.resolve").
ACTION_FAMILIES = (
    "exception.",
    "mapping.",
    "group.",
    "queue_setting.",
    "saved_view.",
    "system.",
    "token.",
    "firm.",
    "member.",
    "invitation.",
    "partner_staff.",
)
# The date inputs send days as YYYY-MM-DD; other spellings are not guessed at.
DAY = ["%Y-%m-%d"]


def _local(day, hour):
    return timezone.make_aware(datetime.combine(day, hour))


class AuditFilterSet(django_filters.FilterSet):
    """The entries of ``queryset`` that match the query string ``data``; ``wanted`` is what the form shows back."""

    actor = django_filters.CharFilter(method="by_actor", label="Who")
    action = django_filters.CharFilter(lookup_expr="startswith", label="Action")
    target = django_filters.CharFilter(method="about", label="Target")  # "type:id", or "type" for all of a type
    since = django_filters.DateFilter(method="from_day", input_formats=DAY, label="Since")
    until = django_filters.DateFilter(method="to_day", input_formats=DAY, label="Until")

    class Meta:
        model = AuditEntry
        fields = []

    def by_actor(self, entries, name, value):
        # A person's entries, whether they acted in the browser ("olivia") or through the API ("olivia via …").
        return entries.filter(Q(actor_label=value) | Q(actor_label__startswith=value + VIA))

    def about(self, entries, name, value):
        target_type, _, target_id = value.partition(":")
        return entries.filter(target_type=target_type, **({"target_id": target_id} if target_id else {}))

    def from_day(self, entries, name, value):
        return entries.filter(at__gte=_local(value, time.min))

    def to_day(self, entries, name, value):
        # "Until" takes its whole local day.
        return entries.filter(at__lte=_local(value, time.max))

    @property
    def wanted(self):
        """Each filter's value as it was asked, trimmed, for the form to show back (a bad date too)."""
        return {name: str(self.data.get(name) or "").strip() for name in self.filters}
