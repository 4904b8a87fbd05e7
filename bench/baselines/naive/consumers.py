"""The tutorial consumer, speaking the load process's subset of PROTOCOL.md §3."""

from __future__ import annotations

import json
from typing import Any

import bleach
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from bench.baselines.naive.models import Message


def _room_group(conversation: str) -> str:
    return f"chat_{conversation}"


class ChatConsumer(AsyncWebsocketConsumer):
    rooms: set[str]

    async def connect(self) -> None:
        await self.accept()
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)
            return
        self.rooms = set()

    async def disconnect(self, code: int) -> None:
        for room in getattr(self, "rooms", ()):
            await self.channel_layer.group_discard(_room_group(room), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = json.loads(text_data or "{}")
        kind = frame.get("type")
        if kind == "subscribe":
            room = str(frame["conversation"])
            await self.channel_layer.group_add(_room_group(room), self.channel_name)
            self.rooms.add(room)
            await self._send(
                {"type": "history", "conversation": room, "messages": [], "more": False}
            )
            await self._send({"type": "subscribed", "conversation": room, "head": 0})
        elif kind == "send":
            room = str(frame["conversation"])
            body = bleach.clean(frame["body"])
            message = await self.save_message(room, body)
            await self._send(
                {
                    "type": "ack",
                    "conversation": room,
                    "client_id": frame["client_id"],
                    "seq": message.pk,
                }
            )
            await self.channel_layer.group_send(
                _room_group(room),
                {
                    "type": "chat.message",
                    "conversation": room,
                    "seq": message.pk,
                    "sender": self.scope["user"].pk,
                    "name": self.scope["user"].username,
                    "body": body,
                    "created_at": message.created_at.isoformat(),
                    "client_id": frame["client_id"],
                },
            )
        elif kind == "ping":
            await self._send({"type": "pong"})
        else:
            await self._send({"type": "error", "code": "unknown_type"})

    @database_sync_to_async
    def save_message(self, room: str, body: str) -> Message:
        return Message._default_manager.create(room=room, author=self.scope["user"], body=body)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self._send(
            {
                "type": "message",
                "conversation": event["conversation"],
                "seq": event["seq"],
                "kind": "text",
                "sender": {"id": event["sender"], "name": event["name"]},
                "body": event["body"],
                "html": event["body"],
                "created_at": event["created_at"],
                "client_id": event["client_id"],
            }
        )

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))
