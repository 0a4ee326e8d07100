"""The demo at its first start: every firm has the default rules, and the first check records the hundreds of
open groups it finds without sending a message; what appears afterwards alerts."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsview.alerts.models import Alert, Rule, RuleKind
from opsview.alerts.tasks import evaluate_all
from opsview.notify.models import Delivery
from opsview.queues.models import ExceptionGroup
from opsview.workspaces.models import Workspace
from tests.alerts_support import tasks_at_once  # noqa: F401 - an autouse fixture
from tests.test_seed_demo import SMALL

pytestmark = pytest.mark.django_db


def test_the_demos_first_check_sends_nothing_and_later_ones_alert_what_is_new():
    call_command("seed_demo", *SMALL, stdout=StringIO())
    call_command("backfill_queues", stdout=StringIO())
    demo = list(Workspace.objects.all())
    assert len(demo) == 2
    for workspace in demo:
        kinds = set(Rule.objects.for_workspace(workspace).values_list("kind", flat=True))
        assert kinds == set(RuleKind.values)
    groups = ExceptionGroup.objects.filter(workspace__in=demo).count()
    assert groups > 10

    with CaptureQueriesContext(connection) as first:
        evaluate_all()
    assert mail.outbox == [] and not Delivery.objects.exists()
    assert Alert.objects.filter(workspace__in=demo, baseline=False).count() == 0
    with CaptureQueriesContext(connection) as second:
        assert evaluate_all() == 0  # nothing new since
    assert mail.outbox == []
    # A check is a few queries per rule, however many groups and events the workspace holds.
    print(f"groups={groups} first_check_queries={len(first)} next_check_queries={len(second)}")
    assert len(second) < 40 * len(demo) + 20
