"""Settings that only show their effect after minutes of running, checked on the real objects."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool


def test_redis_socket_timeout_outlasts_the_layers_blocking_receive() -> None:
    # given the configured channel layer
    layer = get_channel_layer()
    if not isinstance(layer, RedisChannelLayer):
        pytest.skip("runs in the Redis pass (make pytest-services): no Redis channel layer here")
    # when its connection pool is made as channels-redis makes it
    pool = create_pool(layer.hosts[0])
    # then a socket idle in a blocking receive is not cut by its own read timeout
    assert pool.connection_kwargs["socket_timeout"] > layer.brpop_timeout
