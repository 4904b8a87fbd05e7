"""The floor's consumer: the stack's own cost, and nothing else.

It speaks the load process's subset of PROTOCOL.md §3 with the frames of ``bench.baselines.bare``
(the ``seq`` is an in-memory counter per conversation, as there). Every byte of its work is
daphne's, Channels' or channels-redis's: a frame in, JSON by hand, a ``group_send`` through
Redis to every subscribed socket (the sender's included), a frame out. Nothing is stored,
sanitised, authenticated or checked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

heads: defaultdict[str, int] = defaultdict(int)  # this process's last seq per conversation


def _group(conversation: str) -> str:
    return f"floor.{conversation}"


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


class FloorConsumer(AsyncWebsocketConsumer):
    rooms: set[str]
    user: str

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch, less its ``aclose_old_connections()`` (a hop to the database
        # thread before every message): there is no database here, and ours skips it too
        # (``chatbox.consumers.ChatConsumer.dispatch``), so it is no cost the stack imposes.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.rooms = set()
        # As bare.py does: the cookie stands in for a user id, unchecked.
        cookie = dict(self.scope["headers"]).get(b"cookie", b"")
        self.user = cookie.decode("latin-1")
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for room in self.rooms:
            await self.channel_layer.group_discard(_group(room), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = json.loads(text_data or "")
            kind = frame["type"]
        except (ValueError, TypeError, KeyError):
            await self.send(text_data=_dumps({"type": "error", "code": "invalid_frame"}))
            return
        if kind == "subscribe":
            room = str(frame["conversation"])
            await self.channel_layer.group_add(_group(room), self.channel_name)
            self.rooms.add(room)
            await self.send(
                text_data=_dumps(
                    {"type": "history", "conversation": room, "messages": [], "more": False}
                )
            )
            await self.send(
                text_data=_dumps({"type": "subscribed", "conversation": room, "head": heads[room]})
            )
        elif kind == "send":
            room = str(frame["conversation"])
            heads[room] += 1
            seq = heads[room]
            client_id = frame["client_id"]
            await self.send(
                text_data=_dumps(
                    {"type": "ack", "conversation": room, "client_id": client_id, "seq": seq}
                )
            )
            message = {
                "type": "message",
                "conversation": room,
                "seq": seq,
                "kind": "text",
                "sender": {"id": self.user},
                "body": frame["body"],
                "created_at": datetime.now(UTC).isoformat(),
                "client_id": client_id,
            }
            # Encoded once, as bare.py's broadcast does; each subscriber only sends the text.
            await self.channel_layer.group_send(
                _group(room), {"type": "chat.message", "text": _dumps(message)}
            )
        elif kind == "ping":
            await self.send(text_data=_dumps({"type": "pong"}))
        else:
            await self.send(text_data=_dumps({"type": "error", "code": "unknown_type"}))

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
