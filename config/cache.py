"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per asyncio context (``django.core.cache.caches`` is an asgiref
``Local``), and each ``RedisCache`` object makes a client and a connection pool of its own.
Under daphne every websocket runs in a context of its own: reading its session from the cache
(``cached_db``, config.settings), each socket's set-up opened a Redis connection and kept it
for the socket's life — a TCP handshake per connect and 13 KiB more per idle socket in the
bench (docs/performance.md). redis-py's pool is thread-safe; one per process serves them all.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class ProcessRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        backend: Any = self  # RedisCache's own attributes, private and untyped in django-stubs
        key = (tuple(backend._servers), repr(sorted(backend._options.items())))
        with _clients_lock:
            if key not in _clients:
                _clients[key] = backend._class(backend._servers, **backend._options)
            return _clients[key]
