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
