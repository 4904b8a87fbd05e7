"""Websocket test clients for the consumer, in-process (Channels' WebsocketCommunicator)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from config.asgi import application

ORIGIN = "http://127.0.0.1:8000"


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def ws_connect(
    user: User | None = None, *, origin: str | None = ORIGIN, cookie: str | None = None
) -> tuple[WebsocketCommunicator, bool, int | None]:
    """Open a socket as ``user`` (or anonymous); returns the communicator, accepted, close code."""
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    accepted, code = await communicator.connect()
    return communicator, accepted, code


async def receive_until(
    communicator: WebsocketCommunicator, frame_type: str, timeout: float = 5
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read frames until one of ``frame_type``; returns it and the frames read before it."""
    before = []
    while True:
        frame = json.loads(await communicator.receive_from(timeout=timeout))
        if frame["type"] == frame_type:
            return frame, before
        before.append(frame)


async def subscribe(
    communicator: WebsocketCommunicator, conversation_id: str, after: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Subscribe and read through ``subscribed``; returns it and the history frames."""
    await communicator.send_json_to(
        {"type": "subscribe", "conversation": conversation_id, "after": after}
    )
    subscribed, before = await receive_until(communicator, "subscribed")
    return subscribed, [frame for frame in before if frame["type"] == "history"]
