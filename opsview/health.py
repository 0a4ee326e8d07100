"""``/healthz``: is the database answering, and is the task cluster alive?"""

from django.db import connection
from django.http import JsonResponse
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

_WINDING_DOWN = {str(Conf.STOPPING), str(Conf.STOPPED)}


def cluster_state(clusters):
    """What a set of django-q2 cluster heartbeats means for the work waiting on them.

    "running" only when some cluster has live workers to take tasks; "starting" while clusters report
    in but no worker has (the sentinel spawns workers after its first heartbeat); "stopping" when all
    are winding down; "not running" without a heartbeat.
    """
    if not clusters:
        return {"state": "not running", "clusters": 0}
    statuses = sorted({str(c.status) for c in clusters})
    live = [c for c in clusters if str(c.status) not in _WINDING_DOWN]
    workers = sum(len(c.workers) for c in live)
    if workers:
        state = "running"
    elif live:
        state = "starting"
    else:
        state = "stopping"
    return {"state": state, "clusters": len(clusters), "workers": workers, "statuses": statuses}


def task_cluster_state():
    try:
        clusters = Stat.get_all(broker=get_broker())
    except Exception as error:  # a broken broker must not break the health check itself
        return {"state": "unknown", "error": str(error)}
    return cluster_state(clusters)


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = {"state": "ok", "vendor": connection.vendor}
    except Exception as error:
        database = {"state": "down", "error": str(error)}
    body = {"database": database, "task_cluster": task_cluster_state()}
    return JsonResponse(body, status=200 if database["state"] == "ok" else 503)
