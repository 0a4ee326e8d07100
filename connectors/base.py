"""The one small interface every connector implements, and the cursor it pages with.

A fetch is incremental: ``since_cursor`` is what the previous ``Page`` returned
(None the first time, for everything). A scan walks pages while ``has_more``; when a
scan ends, the cursor moves to the latest modification time it saw, less an overlap
that re-reads the boundary (the ingest API treats a re-read record as a duplicate),
so a record changed while the scan ran is not lost.
"""

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from connectors.errors import NotSupported
from connectors.records import Page, SendResult, parse_datetime
from connectors.settings import Setting

DEFAULT_OVERLAP = timedelta(minutes=5)


def encode_cursor(state: dict) -> str:
    """An opaque cursor string for a connector's paging state (a small JSON object)."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> dict:
    """The paging state in a cursor; an empty dict for None or an empty string."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except json.JSONDecodeError:
        raise ValueError(f"not a cursor of this connector: {cursor[:80]!r}") from None
    if not isinstance(state, dict):
        raise ValueError(f"not a cursor of this connector: {cursor[:80]!r}")
    return state


def later(a: str | None, b: datetime | None) -> str | None:
    """The later of an ISO timestamp string and a datetime, as an ISO string (None if both are None)."""
    if b is None:
        return a
    if a is None or parse_datetime(a) < b:
        return b.isoformat()
    return a


def next_since(mark: str | None, since: str | None, overlap: timedelta) -> str | None:
    """Where the next scan starts: the scan's latest modification ``mark`` less ``overlap``, never before ``since``."""
    if mark is None:
        return since
    start = parse_datetime(mark) - overlap
    if since is not None and start < parse_datetime(since):
        return since
    return start.isoformat()


class Connector:
    """A system opsview reads business states from or sends records to.

    Subclasses override what their system can do; the rest raise ``NotSupported``.
    Credentials are plain constructor arguments; storing them is the app's concern.
    """

    system = "generic"
    send_types: frozenset = frozenset()
    # What a person fills in to connect one (see ``connectors.settings``); the names are constructor keywords.
    SETTINGS: tuple[Setting, ...] = ()

    def fetch_clients(self, since_cursor: str | None = None) -> Page:
        """One page of clients changed since the cursor (None: from the beginning)."""
        raise NotSupported(f"{self.system} does not provide clients")

    def fetch_people(self, since_cursor: str | None = None) -> Page:
        """One page of people (users, employees) changed since the cursor (None: from the beginning)."""
        raise NotSupported(f"{self.system} does not provide people")

    def fetch_time_entries(self, since_cursor: str | None = None) -> Page:
        """One page of time entries changed since the cursor (None: from the beginning)."""
        raise NotSupported(f"{self.system} does not provide time entries")

    def fetch_invoices(self, since_cursor: str | None = None) -> Page:
        """One page of invoices changed since the cursor (None: from the beginning)."""
        raise NotSupported(f"{self.system} does not provide invoices")

    def fetch_projects(self, since_cursor: str | None = None) -> Page:
        """One page of projects changed since the cursor (None: from the beginning)."""
        raise NotSupported(f"{self.system} does not provide projects")

    @classmethod
    def payload_schema(cls, record_type: str) -> dict | None:
        """The JSON Schema of the payload ``send`` takes for ``record_type`` (the target's own fields), or None."""
        return None

    def send(self, record_type: str, payload: dict, idempotency_key: str) -> SendResult:
        """(Re)send one record; the same ``idempotency_key`` never has effect twice where the target allows it."""
        raise NotSupported(f"{self.system} does not accept records")

    def lookup(self, record_type: str, key: str) -> dict | None:
        """The target's record sent with idempotency ``key``, or None: asks whether a send already took effect."""
        raise NotSupported(f"{self.system} cannot be asked what it received")

    def read_back(self, record_type: str, external_id: str) -> dict | None:
        """The target's current view of one record (e.g. its state after a send), or None if it has none."""
        raise NotSupported(f"{self.system} cannot be read back")

    def check(self) -> str:
        """Reach the system and log in: a one-line description of what answered; ConnectorError if it did not."""
        raise NotSupported(f"{self.system} cannot be checked")

    def close(self):
        """Release connections; the connector is not used afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def iter_pages(fetch, since_cursor: str | None = None, max_pages: int = 10_000) -> Iterator[Page]:
    """Call ``fetch`` (e.g. ``connector.fetch_invoices``) page after page until the scan has no more."""
    cursor = since_cursor
    for _ in range(max_pages):
        page = fetch(cursor)
        yield page
        if not page.has_more:
            return
        cursor = page.next_cursor
    raise RuntimeError(f"more than {max_pages} pages in one scan; is the cursor advancing?")
