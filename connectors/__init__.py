"""Connectors: one small interface to the systems opsview reads from and replays to.

Independent of Django: plain records in (``connectors.records``), one interface
(``connectors.base.Connector``), one HTTP layer with timeouts, retries and safe logs
(``connectors.http``), and one module per system.
"""
