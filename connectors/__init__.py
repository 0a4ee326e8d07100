"""Connectors: one small interface to the systems opsview reads from and replays to.

Independent of Django. ``records`` holds what connectors return (records that map
1:1 onto the ingest schemas, ``Page``, ``SendResult``); ``base`` the ``Connector``
interface and cursors; ``http`` the shared client (timeouts, retries with backoff
and Retry-After, logs without credentials); one module per system: ``tryton``,
``harvest``, ``xero``, ``webhook``; ``registry.build(kind, **options)`` makes one.

A scheduled pull, in short::

    connector = registry.build("harvest", access_token=..., account_id=..., currency="EUR")
    for page in iter_pages(connector.fetch_time_entries, stored_cursor):
        ingest([r.as_ingest() for r in page.records])
        stored_cursor = page.next_cursor   # persist after each page

A replay: ``connector.send(record_type, payload, idempotency_key)`` returns a
``SendResult``; it never raises for a refusal by the target.
"""
