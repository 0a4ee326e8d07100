"""Which connector speaks to which kind of system, so the app can build one from a system's settings."""

from connectors.base import Connector
from connectors.harvest import HarvestConnector
from connectors.tryton import TrytonConnector
from connectors.webhook import WebhookConnector
from connectors.xero import XeroConnector

CONNECTORS: dict[str, type[Connector]] = {
    "tryton": TrytonConnector,
    "harvest": HarvestConnector,
    "xero": XeroConnector,
    "webhook": WebhookConnector,
}


def build(kind: str, **options) -> Connector:
    """A connector for a system of ``kind``, built with its settings and decrypted credentials as keywords.

    e.g. ``build("tryton", url=..., database=..., username=..., password=...)``;
    the keywords are the connector class's constructor arguments.
    """
    try:
        connector_class = CONNECTORS[kind]
    except KeyError:
        raise ValueError(f"no connector for {kind!r}; known: {', '.join(sorted(CONNECTORS))}") from None
    return connector_class(**options)
