"""A replay whose queued task was lost with the broker (Redis restarted empty) is queued again, and sent once."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import OrmQ

from opsview.queues.models import ExceptionItem
from opsview.replay.models import Replay
from opsview.replay.services import request_replay
from opsview.replay.tasks import requeue_stale
from tests.replay_support import failing_to, run_queued, webhook_system


def test_a_replay_queued_a_lease_ago_and_never_started_is_queued_again(api, northwind, olivia, server, settings):
    target = webhook_system(northwind, server)
    lost, recent = failing_to(api, northwind, target, "TE-1", "TE-2").values()
    (lost_replay,) = request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=lost.pk))
    (recent_replay,) = request_replay(olivia, northwind.workspace, ExceptionItem.objects.filter(pk=recent.pk))
    OrmQ.objects.all().delete()  # the broker lost both tasks
    long_ago = timezone.now() - timedelta(seconds=settings.REPLAY_LEASE_SECONDS + 60)
    Replay.objects.filter(pk=lost_replay.pk).update(requested_at=long_ago)

    requeue_stale()

    assert run_queued() == ["succeeded"]  # the recent one may still be on its way: left alone
    assert [s.headers["Idempotency-Key"] for s in server.seen] == [lost_replay.idempotency_key]
    assert Replay.objects.get(pk=recent_replay.pk).status == "queued"
    requeue_stale()
    assert run_queued() == []  # a replay sent is not queued again
