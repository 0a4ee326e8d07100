"""Testing a system's connection: the one check behind the systems page's button and ``check_connections``.

A test builds the system's connector from its settings and credentials and asks the system who we are
(``Connector.check``). Its outcome is remembered on the system (``System.record_connection``) and audited.
"""

from dataclasses import dataclass

from connectors.errors import ConnectorError
from opsview.audit.trail import record
from opsview.pulls.connection import build_connector, connection_problem
from opsview.workspaces.models import ConnectionStatus
from opsview.workspaces.permissions import ADMINISTER, require

NO_SETTINGS = "no connector settings"


def not_connected(system):
    """Why ``system`` has no working connector ("no connector settings", a missing credential...), or None."""
    if not system.connector_settings and not system.credentials_encrypted:
        return NO_SETTINGS
    return connection_problem(system)


def check_connection(system, actor=None, actor_label=None):
    """Test ``system``'s connection now; returns ``(ok, detail)``. ``actor=None`` is the command line.

    The detail is the system's own answer ("Tryton 8.2, database northwind, user admin") or what went
    wrong ("authentication_failed: ..."), never a secret.
    """
    if actor is not None:
        require(actor, system.workspace, ADMINISTER)
    problem = not_connected(system)
    if problem:
        ok, detail = False, f"not connected: {problem}"
    else:
        try:
            with build_connector(system) as connector:
                ok, detail = True, connector.check()
        except ConnectorError as error:
            ok, detail = False, str(error)
        except (ValueError, KeyError, TypeError) as error:  # an answer the connector could not read
            ok, detail = False, f"unexpected answer from {system.vendor}: {type(error).__name__}: {error}"[:500]
    before = {"connection_status": system.connection_status, "connection_detail": system.connection_detail}
    system.record_connection(ok, detail)
    record(system.workspace, actor, "system.check_connection", system, before=before,
           after={"connection_status": system.connection_status, "connection_detail": detail},
           actor_label=actor_label)  # fmt: skip
    return ok, detail


@dataclass(frozen=True)
class ConnectionState:
    """What the systems page says about reaching a system."""

    label: str  # Connected, Failing, Not tested, Not connected
    css: str
    detail: str = ""
    checked_at: object = None


def connection_state(system):
    """The state the systems page shows: not connected (set it up) first, else the last test's outcome."""
    problem = not_connected(system)
    if problem:
        return ConnectionState("Not connected", "untested", f"set it up: {problem}")
    if system.connection_status == ConnectionStatus.OK:
        return ConnectionState("Connected", "ok", system.connection_detail, system.connection_checked_at)
    if system.connection_status == ConnectionStatus.FAILING:
        return ConnectionState("Failing", "failing", system.connection_detail, system.connection_checked_at)
    return ConnectionState("Not tested", "untested", "press Test connection")
