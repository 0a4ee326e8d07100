"""A system's connector, built from its connector settings and decrypted credentials, and whether it is connected."""

import inspect
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings as django_settings

from connectors import registry
from connectors.errors import ConnectorError
from opsview.systems.credentials import CredentialsUnreadable
from opsview.systems.models import ConnectionStatus
from opsview.systems.schedules import POLL_MINUTES
from opsview.systems.xero import token_custodian

# Connector settings that opsview reads itself; the rest are the connector's keywords. A Xero
# organisation's name is kept beside its tenant id to show which one is connected.
APP_SETTINGS = frozenset({POLL_MINUTES, "tenant_name"})
_MISSING_ARGUMENTS = re.compile(r"missing \d+ required (?:keyword-only |positional )?arguments?: (.*)$")
_QUOTED = re.compile(r"'([^']+)'")
NO_SETTINGS = "no connector settings"


def build_connector(system, http_options=None):
    """The connector for ``system``; a ``ConnectorError`` (code ``configuration_error``) says what does not fit.

    ``http_options`` go to the connector's HTTP client where it takes them (a replay's timeout).
    """
    connector_class = registry.CONNECTORS.get(system.vendor or "")
    if connector_class is None:
        raise ConnectorError("configuration_error", f"system '{system.slug}' has no connector for {system.vendor!r}")
    settings = system.connector_settings or {}
    if not isinstance(settings, dict):
        raise ConnectorError("configuration_error", f"the connector settings of '{system.slug}' are not an object")
    options = {name: value for name, value in settings.items() if name not in APP_SETTINGS}
    try:
        options.update(system.credentials)
    except CredentialsUnreadable as problem:
        raise ConnectorError("configuration_error", str(problem)) from None
    if "currency" in inspect.signature(connector_class).parameters:
        options.setdefault("currency", system.workspace.currency)  # e.g. Harvest's time carries none
    if http_options and "http_options" in inspect.signature(connector_class).parameters:
        options["http_options"] = http_options
    if options.get("refresh_token") and "on_tokens" in inspect.signature(connector_class).parameters:
        # An OAuth connection (Xero): every pull, replay and check refreshes through the stored tokens.
        options["on_tokens"] = token_custodian(system.pk)
        options.setdefault("token_url", django_settings.XERO_TOKEN_URL)
    try:
        return registry.build(system.vendor, **options)
    except (TypeError, ValueError) as problem:
        # The message names arguments, never their values: credentials stay out of it.
        raise ConnectorError(
            "configuration_error", f"the settings of system '{system.slug}' do not fit its connector: {problem}"
        ) from None


@contextmanager
def connector_for(system, connector=None):
    """``connector`` if one is given (tests, a caller's shared one), else the system's, closed afterwards."""
    if connector is not None:
        yield connector
        return
    with build_connector(system) as built:
        yield built


def connection_problem(system):
    """Why ``system`` cannot be used now, in a few words, or None when its connector can be built.

    The one rule for "is this system connected": a connector for its vendor, and settings and
    credentials that build it. Nothing is called over the network: a wrong password shows
    when the system answers, and is then remembered by ``System.record_connection``.
    """
    if (system.vendor or "") not in registry.CONNECTORS:
        return f"no connector for {system.vendor or 'its vendor'} is set up"
    try:
        connector = build_connector(system)
    except ConnectorError as problem:
        missing = _MISSING_ARGUMENTS.search(problem.message)
        if missing:  # Python's wording of a constructor's missing arguments, in a person's words
            names = _QUOTED.findall(missing.group(1))
            listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
            return f"its settings or credentials lack {listed}"
        return problem.message
    connector.close()
    return None


def not_connected_message(system, problem):
    """What a person reads when ``system`` is not connected: its name, and where to set it up."""
    return f"{system.name} is not connected: set it up under Settings → Systems ({problem})."


def not_connected(system):
    """Why ``system`` has no working connector ("no connector settings", a missing credential...), or None."""
    if not system.connector_settings and not system.credentials_encrypted:
        return NO_SETTINGS
    return connection_problem(system)


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
