"""Settings of the floor: only what Channels needs, DEBUG off, no database.

The channel layer is ours (``config.settings.CHANNEL_LAYER_CONFIGS["pubsub"]``): channels-redis's
pub/sub layer on ``REDIS_URL``, under a prefix of its own.
"""

from __future__ import annotations

import environ

env = environ.Env()

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="floor-baseline-not-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [env.str("REDIS_URL")], "prefix": "floor-bench:asgi"},
    }
}
