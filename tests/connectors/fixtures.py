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


@pytest.fixture
def tryton_server(tryton_build, tmp_path):
    """A trytond on 127.0.0.1 serving a fresh copy of the template database."""
    from tests.connectors.tryton_env import TrytonServer, TrytonUnavailable

    server = TrytonServer(*tryton_build, tmp_path)
    started = time.monotonic()
    try:
        server.start()
    except TrytonUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    TRYTON_TIMINGS.setdefault("server_start_seconds", round(time.monotonic() - started, 1))
    yield server
    server.stop()


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
def tryton_firm(tryton_firm_build, tmp_path):
    """A trytond on a free port serving a fresh copy of the firm database, as database ``firm``."""
    import shutil

    from opsview.demo.erp.env import TrytonServer, TrytonUnavailable
    from tests.connectors.tryton_env import FIRM

    venv, firm = tryton_firm_build
    shutil.copyfile(firm, tmp_path / f"{FIRM}.sqlite")
    server = TrytonServer(venv, tmp_path, [FIRM])
    server.database = FIRM
    try:
        server.start()
    except TrytonUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()
