"""The delivery log's filters: a delivery's status, and where it went (a channel, or e-mail)."""

import django_filters

from opsview.common.filtersets import FilterSet
from opsview.notify.models import Delivery

EMAIL = "email"


class DeliveryFilterSet(FilterSet):
    """The deliveries of ``queryset`` with the asked ``status`` and ``channel`` (a channel's id, or "email")."""

    status = django_filters.CharFilter(label="Status")
    channel = django_filters.CharFilter(method="to_channel", label="Sent to")

    class Meta:
        model = Delivery
        fields = []

    def to_channel(self, deliveries, name, value):
        if value == EMAIL:
            return deliveries.filter(channel__isnull=True)
        # A value no channel has lists nothing, rather than being dropped and listing everything.
        return deliveries.filter(channel_id=int(value)) if value.isdigit() else deliveries.none()
