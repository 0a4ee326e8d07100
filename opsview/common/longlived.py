"""What a long-lived process (a web worker, a task worker) does once it has loaded the app."""

import gc


def freeze_what_is_loaded():
    """Move every object alive now out of the cyclic garbage collector's sight, and collect young objects less often.

    What is loaded by then (Django, the apps, the URLconf and its views) lives as long as the process. Frozen,
    the collector stops walking it again and again: one full collection walked all of it for about 150 ms, and
    an ingest request of 500 events allocates enough to bring one every few dozen requests (about 8 us of the
    web worker's CPU per event, timed with gc.callbacks on bench/ingest.py's batches). Collecting the young
    objects less often spares walking a batch's events several times while the request or task still holds them.
    """
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
