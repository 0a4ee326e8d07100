import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsview.settings")
application = get_wsgi_application()

# What is loaded by now (Django, the apps, the URLconf and its views) lives as long as the worker. Frozen, the
# cyclic garbage collector stops walking it again and again: one full collection walked all of it for about
# 150 ms, and an ingest request of 500 events allocates enough to bring one every few dozen requests (about
# 8 us of the web worker's CPU per event, timed with gc.callbacks on bench/ingest.py's batches). Collecting the
# young objects less often spares walking a batch's events several times while the request still holds them.
get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view now, to freeze them too)
gc.freeze()
gc.set_threshold(10_000, 10, 10)
