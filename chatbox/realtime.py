"""The one door to the channel layer. Every push leaves from here, and only after commit.

The channel layer carries ids and small facts, never message text in the clear. A notice of
new events says "seqs F..L exist"; a notice of new text messages also carries their
``message`` frames sealed (``chatbox.crypto.notice_seal``), made once by the writer: a socket
whose mark is just before F sends them as they are, any other reads what it lacks from the
database (``chatbox.consumers``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chatbox import crypto

logger = logging.getLogger(__name__)

# Close codes of the websocket: PROTOCOL.md §3's, and two of docs/chat.md. RFC 6455's own
# codes for the last two, 1011 and 1013, cannot be sent: daphne closes through autobahn, which
# takes from an application only 1000 and 3000-4999 and raises on anything else, leaving the
# socket open until daphne's checker closes it with 1011 a second later. 4500 and 4503 echo
# HTTP's 500 and 503 in the private range.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BANNED = 4403
CLOSE_INTERNAL_ERROR = 4500  # reconnect, catch up, resend: a send failed as no check foresaw
CLOSE_TRY_AGAIN_LATER = 4503  # the process is busy setting sockets up (chatbox.admission)


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"conversation.{uuid.UUID(str(conversation_id)).hex}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


@dataclass
class _Outbox:
    """Pushes waiting to leave one event loop, sent one after another in commit order."""

    pending: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque)
    sender: asyncio.Task[None] | None = None


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = (
    weakref.WeakKeyDictionary()
)


async def _drain(outbox: _Outbox) -> None:
    layer = get_channel_layer()
    while outbox.pending:
        group, message = outbox.pending.popleft()
        try:
            await layer.group_send(group, message)
        except Exception:
            # The database is the record; a lost push is made up by the client's catch-up.
            logger.exception("push to %s failed", group)


def _enqueue(loop: asyncio.AbstractEventLoop, group: str, message: dict[str, Any]) -> None:
    """On ``loop``: queue the push, and start a sender unless one is already draining."""
    outbox = _outboxes.setdefault(loop, _Outbox())
    outbox.pending.append((group, message))
    if outbox.sender is None or outbox.sender.done():
        outbox.sender = loop.create_task(_drain(outbox))


def _group_send(group: str, message: dict[str, Any]) -> None:
    if get_channel_layer() is None:
        return
    # Set in the worker threads that the server's event loop runs database work in.
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None:  # a command, a task, a test: no server loop to hand the push to
        try:
            async_to_sync(get_channel_layer().group_send)(group, message)
        except Exception:
            logger.exception("push to %s failed", group)
        return
    if not loop.is_running():
        # The server is stopping (a socket's disconnect work ran after the loop ended).
        # Waiting for the loop would hang this thread, and with it the process's exit.
        logger.info("push to %s dropped: the server is stopping", group)
        return
    # The database thread hands the push to the event loop and goes on: waiting would hold
    # every socket's database work on the channel layer.
    loop.call_soon_threadsafe(_enqueue, loop, group, message)


def publish_on_commit(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` once the surrounding transaction commits (at once if none)."""
    transaction.on_commit(lambda: _group_send(group, message))


def event_published(*, conversation_id: uuid.UUID, seq: int) -> None:
    publish_on_commit(
        conversation_group(conversation_id),
        {"type": "chat.event", "conversation": str(conversation_id), "seq": seq},
    )


def _notice_subject(conversation: str, first: int, last: int) -> str:
    return f"events {first}..{last} of {conversation}"


def events_published(
    *, conversation_id: uuid.UUID, first: int, last: int, frames: list[dict[str, Any]]
) -> None:
    """Announce events ``first``..``last`` with the ``message`` frame of each, sealed."""
    conversation = str(conversation_id)
    text = "\n".join(json.dumps(frame, separators=(",", ":")) for frame in frames)
    kek_id, sealed = crypto.notice_seal(
        subject=_notice_subject(conversation, first, last), plaintext=text.encode()
    )
    publish_on_commit(
        conversation_group(conversation_id),
        {
            "type": "chat.event",
            "conversation": conversation,
            "first": first,
            "seq": last,
            "kek": kek_id,
            "frames": sealed,
        },
    )


def notice_frames(message: dict[str, Any]) -> list[str] | None:
    """The ``message`` frames (JSON text, one per event) a ``chat.event`` notice carries, or
    None when it carries none or they do not open (a key this process does not hold)."""
    if "frames" not in message:
        return None
    subject = _notice_subject(message["conversation"], message["first"], message["seq"])
    try:
        text = crypto.notice_open(
            subject=subject, kek_id=message["kek"], ciphertext=message["frames"]
        )
    except crypto.CryptoError:
        logger.warning("a notice about %s did not open; reading the database instead", subject)
        return None
    # json.dumps escapes newlines inside strings: a raw one only ever separates two frames.
    return text.decode().split("\n")


def close_user_sockets(*, user_id: int, code: int = CLOSE_UNAUTHENTICATED) -> None:
    """Close every open websocket of ``user_id``, in every process."""
    publish_on_commit(user_group(user_id), {"type": "socket.close", "code": code})
