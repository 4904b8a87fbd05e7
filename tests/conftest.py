from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests.live import LiveServer, running_daphne


def _clear_cache() -> None:
    """Forget this run's cached counters, and only this run's.

    Django's Redis cache clears with FLUSHDB, which would also wipe the keys of another test
    run (or a server) sharing the Redis database; each run has its own ``KEY_PREFIX``.
    """
    if not settings.REDIS_URL:
        cache.clear()
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=cache.make_key("*"), count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit windows and other cached counters never leak from one test to the next."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture
def daphne_server(transactional_db: None) -> Iterator[LiveServer]:
    """A real daphne process serving the app against the test database."""
    yield from running_daphne()
