"""Which real services this test run has, and what a test does when one is missing.

A test that needs PostgreSQL, Redis or Chromium skips with a reason where it is absent, and
fails instead where ``REQUIRE_SERVICES=1`` is set (as CI does).
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

CHROMIUM = "/usr/bin/chromium"


def require(service: str, available: bool, reason: str) -> None:
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{service} is required here (REQUIRE_SERVICES=1), but {reason}")
    pytest.skip(f"{service} is not available: {reason}")


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or os.environ.get(
        "TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
    )


def require_redis() -> str:
    url = redis_url()
    require("Redis", reachable(url, 6379), f"nothing answers at {url}")
    return url


def require_postgres() -> None:
    """PostgreSQL tests run in the services pass (`make pytest-services`), where it is the DB."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (make pytest-services), not on SQLite")


def require_chromium() -> str:
    require("Chromium", shutil.which(CHROMIUM) is not None, f"{CHROMIUM} is not installed")
    return CHROMIUM


def cache_clear_own() -> None:
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
