"""Fixtures for tests that speak to real servers: a local HTTP server, and a real trytond.

Loaded for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``, so the
connector tests and the pull tests use the same servers.
"""

import time

import pytest

from tests.connectors.localserver import LocalServer


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 that records what it is sent and answers as the test scripts it."""
    local = LocalServer().start()
    yield local
    local.stop()


class Sleeps(list):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


TRYTON_TIMINGS = {}
FIRM_KIND = "firm"


@pytest.fixture(scope="session")
def tryton_build():
    """The Tryton venv and template database, installed and built once (then cached across sessions)."""
    from tests.connectors.tryton_env import TrytonUnavailable, prepare

    try:
        venv, template, ids, timings = prepare()
    except TrytonUnavailable as error:
        pytest.fail(f"Tryton is needed for these tests and could not be set up: {error}", pytrace=False)
    TRYTON_TIMINGS.update(timings)
    return venv, template, ids


# The session's tests that take a Tryton database of each kind: the scenario's, and the small firm's.
KINDS = {"tryton_server": "opsview", "tryton_firm": FIRM_KIND}


@pytest.fixture(scope="session")
def tryton_host(request, tmp_path_factory):
    """The session's one trytond, with a fresh database ready for each test of the session that takes one."""
    from tests.connectors.tryton_env import TrytonHost, TrytonUnavailable

    wanted = {
        kind: sum(fixture in item.fixturenames for item in request.session.items) for fixture, kind in KINDS.items()
    }
    host = None
    for fixture, kind in KINDS.items():
        if not wanted[kind]:
            continue
        venv, source = request.getfixturevalue(f"{fixture}_source")
        host = host or TrytonHost(venv, tmp_path_factory.mktemp("tryton"))
        host.provide(kind, source, wanted[kind])
    started = time.monotonic()
    try:
        host.start()
    except TrytonUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    TRYTON_TIMINGS["server_start_seconds"] = round(time.monotonic() - started, 1)
    yield host
    host.stop()


@pytest.fixture(scope="session")
def tryton_server_source(tryton_build):
    venv, template, _ids = tryton_build
    return venv, template / "opsview.sqlite"


@pytest.fixture(scope="session")
def tryton_firm_source(tryton_firm_build):
    return tryton_firm_build


@pytest.fixture
def tryton_server(tryton_build, tryton_host):
    """A fresh copy of the template database (the scenario's records) on the session's trytond."""
    from tests.connectors.tryton_env import TrytonDatabase

    return TrytonDatabase(tryton_host, tryton_host.take("opsview"), tryton_build[2])


def pytest_terminal_summary(terminalreporter):
    if TRYTON_TIMINGS:
        measured = ", ".join(f"{name} {value}" for name, value in sorted(TRYTON_TIMINGS.items()))
        terminalreporter.write_line(f"tryton: {measured}")


@pytest.fixture(scope="session")
def tryton_firm_build():
    """The Tryton venv and a small firm database made by the demo ERP's tools (cached across sessions)."""
    from tests.connectors.tryton_env import TrytonUnavailable, prepare_firm

    try:
        return prepare_firm()
    except TrytonUnavailable as error:
        pytest.fail(f"Tryton is needed for these tests and could not be set up: {error}", pytrace=False)


@pytest.fixture
def tryton_firm(tryton_host):
    """A fresh copy of the small firm's database (``FIRM_SPEC``) on the session's trytond."""
    from tests.connectors.tryton_env import TrytonDatabase

    return TrytonDatabase(tryton_host, tryton_host.take(FIRM_KIND))
