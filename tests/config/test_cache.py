"""The Redis cache's client is one per process, whichever asyncio context asks."""

from __future__ import annotations

import asyncio

from config.cache import ProcessRedisCache

LOCATION = "redis://127.0.0.1:6379/15"  # never connected to: clients connect lazily


async def _cache_object_of_a_new_context() -> ProcessRedisCache:
    return ProcessRedisCache(LOCATION, {"OPTIONS": {}})


def test_every_cache_object_of_the_process_shares_one_client_and_pool() -> None:
    # given two cache objects made in two asyncio contexts, as two websockets' would be
    first = asyncio.run(_cache_object_of_a_new_context())
    second = asyncio.run(_cache_object_of_a_new_context())
    assert first is not second
    # then they share one client, and so its connection pool
    assert first._cache is second._cache


def test_other_servers_or_options_get_a_client_of_their_own() -> None:
    default = ProcessRedisCache(LOCATION, {"OPTIONS": {}})
    elsewhere = ProcessRedisCache("redis://127.0.0.1:6379/14", {"OPTIONS": {}})
    tuned = ProcessRedisCache(LOCATION, {"OPTIONS": {"socket_timeout": 3}})
    assert len({id(default._cache), id(elsewhere._cache), id(tuned._cache)}) == 3
