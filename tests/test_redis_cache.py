"""The production cache (Redis) keeps one client per connection pool and behaves as Django's own."""

import threading

import pytest

from opsview.common.rediscache import PooledClientRedisCache
from tests.process_support import redis_up

pytestmark = pytest.mark.skipif(not redis_up(), reason="needs Redis at 127.0.0.1:6379")


@pytest.fixture
def cache():
    cache = PooledClientRedisCache("redis://127.0.0.1:6379/13", {"KEY_PREFIX": "opsview-test-cache"})
    cache.clear()
    yield cache
    cache.clear()


def test_the_cache_stores_adds_counts_and_forgets_as_djangos_does(cache):
    cache.set("history", [3, 2, 1], 30)
    assert cache.get("history") == [3, 2, 1]
    assert cache.add("drain-queued", True, 30) is True
    assert cache.add("drain-queued", True, 30) is False  # only one waits at a time
    cache.set("n", 1)
    assert cache.incr("n", 4) == 5
    cache.delete("drain-queued")
    assert cache.add("drain-queued", True, 30) is True
    assert cache.get("missing", "default") == "default"


def test_every_call_shares_one_client_and_threads_share_it_safely(cache):
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client("key", write=True) is first

    errors = []

    def count():
        try:
            for _ in range(200):
                cache.incr("shared", 1)
        except Exception as problem:  # pragma: no cover - reported below
            errors.append(problem)

    cache.set("shared", 0)
    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and cache.get("shared") == 800
