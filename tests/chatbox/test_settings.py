"""Settings that only show their effect after minutes of running, checked on the real objects."""

from __future__ import annotations

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings


def test_redis_socket_timeout_outlasts_the_core_layers_blocking_receive() -> None:
    if not settings.REDIS_URL:
        pytest.skip("runs in the Redis pass (make pytest-services): no REDIS_URL here")
    # given the core layer as configured (CHANNEL_LAYER=core)
    layer = RedisChannelLayer(**settings.CHANNEL_LAYER_CONFIGS["core"]["CONFIG"])
    # when its connection pool is made as channels-redis makes it
    pool = create_pool(layer.hosts[0])
    # then a socket idle in a blocking receive is not cut by its own read timeout
    assert pool.connection_kwargs["socket_timeout"] > layer.brpop_timeout
