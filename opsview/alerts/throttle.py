"""The throttle: one message per rule and subject per window, kept by the Alert rows themselves."""

from datetime import timedelta

from django.db.models import Max

from opsview.alerts.models import Alert, RuleKind


def quiet(rule, keys, now):
    """The subjects among ``keys`` that ``rule`` must not alert about now.

    Those it alerted about (or recorded at its first check) within its throttle window; a new group
    alerts once, so for that rule any earlier alert keeps it quiet for good.
    """
    if not keys:
        return set()
    alerts = Alert.objects.filter(rule=rule, subject_key__in=list(keys))
    if rule.kind != RuleKind.NEW_GROUP:
        alerts = alerts.filter(fired_at__gt=now - timedelta(hours=rule.throttle_hours))
    return set(alerts.values_list("subject_key", flat=True))


def last_alerts(rule, keys):
    """``{subject: (fired_at, measure)}`` of the latest alert ``rule`` made about each of ``keys``."""
    if not keys:
        return {}
    alerts = Alert.objects.filter(rule=rule, subject_key__in=list(keys))
    latest = dict(alerts.order_by().values_list("subject_key").annotate(at=Max("fired_at")))
    found = {}
    for key, at, measure in alerts.filter(fired_at__in=set(latest.values())).values_list(
        "subject_key", "fired_at", "measure"
    ):
        if latest.get(key) == at:
            found[key] = (at, measure)
    return found
