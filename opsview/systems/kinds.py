"""What a pull can fetch, in the order references need.

Clients and people come before the projects that name them, projects before the time
entries and invoices booked on them, so one scheduled pull stores each record after
what it refers to.
"""

from dataclasses import dataclass

from connectors.base import Connector
from connectors.registry import CONNECTORS


@dataclass(frozen=True)
class PullKind:
    name: str  # "time_entries": the cursor's record type, the command's --record-type
    record_type: str  # "time_entry": what sync events call one such record
    state_type: str  # "time-entries": the ingest state type its records are stored as

    @property
    def fetch(self):
        """The connector method that reads a page of them."""
        return f"fetch_{self.name}"

    @property
    def flow(self):
        """The flow of the sync runs that pull them."""
        return f"pull_{self.name}"


PULL_KINDS = {
    kind.name: kind
    for kind in (
        PullKind("clients", "client", "clients"),
        PullKind("people", "person", "people"),
        PullKind("projects", "project", "projects"),
        PullKind("time_entries", "time_entry", "time-entries"),
        PullKind("invoices", "invoice", "invoices"),
    )
}


def kinds_for(vendor):
    """What a system of ``vendor`` can be pulled for, in dependency order; none for a vendor without a connector."""
    connector_class = CONNECTORS.get(vendor or "")
    if connector_class is None:
        return []
    return [k for k in PULL_KINDS.values() if getattr(connector_class, k.fetch) is not getattr(Connector, k.fetch)]
