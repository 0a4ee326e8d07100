"""Helpers the replay tests share: a webhook target system, failures through ingest, running queued tasks."""

from django_q.models import OrmQ
from django_q.signing import SignedPackage

from opsview.replay.tasks import BATCH_TASK, TASK, run_replay, run_replays
from opsview.systems.models import System
from tests.queue_support import exceptions, failure, send

SECRET = "whsec-test-secret"


def webhook_system(firm, server, slug="middleware"):
    system = System(
        workspace=firm.workspace,
        slug=slug,
        name="Client middleware",
        kind="billing",
        vendor="webhook",
        connector_settings={"url": f"{server.url}/records"},
    )
    system.credentials = {"secret": SECRET}
    system.save()
    return system


def failing_to(api, firm, system, *external_ids, **overrides):
    """Report one failed sync event per record, to ``system``; returns their exceptions by external id."""
    send(api, *[failure(x, target_system=system.slug, **overrides) for x in external_ids])
    return {x.external_id: x for x in exceptions(firm, system=system)}


def queued_tasks():
    return [SignedPackage.loads(q.payload) for q in OrmQ.objects.order_by("id")]


def queued_replays():
    """The replay ids of the queued tasks, in queue order."""
    return [pk for task in queued_tasks() for pk in (task["args"][0] if task["func"] == BATCH_TASK else task["args"])]


def run_queued(connector=None):
    """Run every queued replay task here, as a worker would; returns each replay's status, in queue order."""
    results = []
    for q in OrmQ.objects.order_by("id"):
        task = SignedPackage.loads(q.payload)
        q.delete()
        assert task["func"] in (TASK, BATCH_TASK)
        if task["func"] == BATCH_TASK:
            results += run_replays(*task["args"], connector=connector)
        else:
            results.append(run_replay(*task["args"], connector=connector))
    return results
