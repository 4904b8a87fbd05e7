"""ASGI entry point of the floor: websockets only, straight to the consumer (no
``AuthMiddlewareStack``, no origin validator, no HTTP)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.floor.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.baselines.floor.consumers import FloorConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/chat/", FloorConsumer.as_asgi())])}
)
