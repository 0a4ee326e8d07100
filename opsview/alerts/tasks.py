"""Background work for alerts, run by django-q2 schedules (see opsview/common/schedules.py).

New exception groups are found by the 10-minute check, not by ingest: ingest sits below alerts and
must not call them, and ten minutes is soon enough for a message that is read by people.
"""

from django.utils import timezone

from opsview.alerts import digests, services
from opsview.workspaces.models import Workspace


def evaluate_all(now=None):
    """Check every workspace's active rules; returns how many alerts were made."""
    now = now or timezone.now()
    return sum(len(services.evaluate_workspace(workspace, now)) for workspace in Workspace.objects.all())


def send_daily_digests(now=None):
    """Send the daily digests that are due (hourly: each workspace's at its own morning hour)."""
    return digests.send_due_digests(now)
