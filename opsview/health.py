"""``/healthz``: is the database answering, and is the task cluster alive?"""

from django.db import connection
from django.http import JsonResponse
from django_q.brokers import get_broker
from django_q.status import Stat


def task_cluster_state():
    try:
        clusters = Stat.get_all(broker=get_broker())
    except Exception as error:  # a broken broker must not break the health check itself
        return {"state": "unknown", "error": str(error)}
    if not clusters:
        return {"state": "not running", "clusters": 0}
    return {
        "state": "running",
        "clusters": len(clusters),
        "workers": sum(len(c.workers) for c in clusters),
        "statuses": sorted({c.status for c in clusters}),
    }


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = {"state": "ok", "vendor": connection.vendor}
    except Exception as error:
        database = {"state": "down", "error": str(error)}
    body = {"database": database, "task_cluster": task_cluster_state()}
    return JsonResponse(body, status=200 if database["state"] == "ok" else 503)
