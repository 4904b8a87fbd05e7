"""The one door to the channel layer. Every push leaves from here, and only after commit.

The channel layer carries ids and small facts, never message text: a consumer that hears of
a new event reads it from the database and presents it to its own viewer.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Close codes of the websocket (PROTOCOL.md §3).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BANNED = 4403


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"conversation.{uuid.UUID(str(conversation_id)).hex}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The database is the record; a lost push is recovered by the client's catch-up.
        logger.exception("push to %s failed", group)


def publish_on_commit(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` once the surrounding transaction commits (at once if none)."""
    transaction.on_commit(lambda: _group_send(group, message))


def event_published(*, conversation_id: uuid.UUID, seq: int) -> None:
    publish_on_commit(
        conversation_group(conversation_id),
        {"type": "chat.event", "conversation": str(conversation_id), "seq": seq},
    )


def close_user_sockets(*, user_id: int, code: int = CLOSE_UNAUTHENTICATED) -> None:
    """Close every open websocket of ``user_id``, in every process."""
    publish_on_commit(user_group(user_id), {"type": "socket.close", "code": code})
