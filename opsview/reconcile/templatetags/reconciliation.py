"""``{% gap_sides item %}``: both sides of a reconciliation exception, for the queues' detail page."""

from django import template

from opsview.reconcile.causes import BY_CODE
from opsview.reconcile.models import Gap

register = template.Library()


@register.inclusion_tag("reconcile/_gap.html")
def gap_sides(item):
    gap = Gap.objects.filter(exception=item).select_related("last_run", "project").first()
    return {"item": item, "gap": gap, "cause": BY_CODE.get(gap.cause) if gap else None}
