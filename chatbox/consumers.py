"""The websocket consumer of PROTOCOL.md §3: parse a frame, call a service, reply.

One socket carries all of a user's conversations. For each subscribed conversation the
consumer remembers the last ``seq`` it delivered; a live notice only says "seq N exists", and
the consumer reads everything after its mark from the database. So nothing is skipped or sent
twice between replay and live, and a notice the channel layer dropped is made up by the next.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.models import User
from chatbox import group_commit, realtime, selectors, services
from chatbox.checkpoints import checkpoint_document, checkpoint_latest
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.frames import frame_validate
from chatbox.models import Conversation, Event
from chatbox.presenters import messages_present
from chatbox.ratelimit import send_budget_spend

logger = logging.getLogger(__name__)

HISTORY_PAGE = 200
# Sends one socket may have waiting for their ack; the send budget (CHATBOX_SEND_RATE) is far
# below, this only bounds what a client that never waits can queue.
SENDS_IN_FLIGHT = 100


@database_sync_to_async
def _fresh_user(user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


@database_sync_to_async
def _conversation_of_member(user: User, conversation_id: str) -> Conversation:
    """The conversation, for a member; ``not_found`` / ``not_member`` otherwise."""
    return selectors.conversation_for_member(user=user, conversation_id=conversation_id)


@database_sync_to_async
def _page_after(
    conversation_id: uuid.UUID, after: int, until: int | None = None
) -> tuple[list[dict[str, Any]], bool]:
    events = selectors.events_after(
        conversation_id=conversation_id, after=after, limit=HISTORY_PAGE + 1, until=until
    )
    more = len(events) > HISTORY_PAGE
    return messages_present(conversation_id=conversation_id, events=events[:HISTORY_PAGE]), more


@database_sync_to_async
def _budgeted(user: User, service: Callable[..., Event], **fields: Any) -> Event:
    """Spend one send of the user's budget, then call ``service``: one thread hop, and the
    cache's round trips never block the event loop."""
    send_budget_spend(user_id=user.pk)
    return service(**fields)


@database_sync_to_async
def _conversation_state(
    conversation_id: uuid.UUID,
) -> tuple[dict[str, Any] | None, set[int], dict[int, int]]:
    """What a new subscriber is told after its replay, in one thread hop: the latest signed
    checkpoint, who is online and how far each member has read."""
    latest = checkpoint_latest(conversation_id=conversation_id)
    return (
        checkpoint_document(latest) if latest else None,
        selectors.online_user_ids(conversation_id=conversation_id),
        selectors.read_marks(conversation_id=conversation_id),
    )


class ChatConsumer(AsyncWebsocketConsumer):
    user: User
    # conversation id -> the last seq delivered on this socket
    delivered: dict[uuid.UUID, int]
    typing_sent_at: dict[uuid.UUID, float]
    seen_written_at: float  # time.monotonic() when this socket's presence row was last written
    # Sends waiting for their group commit, in the order they came; their acks leave in it.
    unacked: deque[tuple[asyncio.Future[Event], uuid.UUID]]
    acks_lock: asyncio.Lock
    acks_flushing: set[asyncio.Task[None]]

    # -- lifecycle ---------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, less its ``aclose_old_connections()`` before every message: that
        is a hop to the process's one database thread, so every frame and every notice of every
        socket would wait behind the batch being stored there. Each database call here goes
        through ``database_sync_to_async``, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Close codes need an accepted socket: a refusal before accept is a bare HTTP 403.
            await self.accept()
            await self.close(code=realtime.CLOSE_UNAUTHENTICATED)
            return
        # Join the user's group before reading their standing again: a ban from now on closes
        # this socket through the group, and one from before is read below. The accept comes
        # after that work, so that admission control (chatbox.admission) counts it.
        group = realtime.user_group(user.pk)
        await self.channel_layer.group_add(group, self.channel_name)
        fresh = await database_sync_to_async(services.connection_open)(
            user_id=user.pk, channel_name=self.channel_name
        )
        await self.accept()
        if fresh is None or fresh.is_banned:
            await self.channel_layer.group_discard(group, self.channel_name)
            gone = fresh is None
            await self.close(code=realtime.CLOSE_UNAUTHENTICATED if gone else realtime.CLOSE_BANNED)
            return
        self.user = fresh
        self.seen_written_at = time.monotonic()  # the row was written just now
        self.delivered = {}
        self.typing_sent_at = {}
        self.unacked = deque()
        self.acks_lock = asyncio.Lock()
        self.acks_flushing = set()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user"):
            return
        # Nobody is left to ack; a send already queued is stored all the same, and the
        # client's resend after reconnecting is acked with its seq.
        for stored, _ in self.unacked:
            stored.cancel()
        for flushing in list(self.acks_flushing):
            flushing.cancel()
        for conversation_id in list(self.delivered):
            await self.channel_layer.group_discard(
                realtime.conversation_group(conversation_id), self.channel_name
            )
        await self.channel_layer.group_discard(realtime.user_group(self.user.pk), self.channel_name)
        await database_sync_to_async(services.connection_close)(channel_name=self.channel_name)

    # -- client frames -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        ref = None
        try:
            frame = self._parse(text_data, bytes_data)
            ref = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
            fields = frame_validate(frame)
            await getattr(self, f"on_{frame['type']}")(fields)
        except ApplicationError as error:
            await self._send_error(error, ref)

    async def _send_error(self, error: ApplicationError, ref: str | None) -> None:
        await self._send_frame(
            {"type": "error", "code": error.code, "message": error.message, "ref": ref}
        )
        if error.code == ErrorCode.BANNED:
            await self.close(code=realtime.CLOSE_BANNED)

    def _parse(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        if text_data is None:
            raise ApplicationError(ErrorCode.INVALID_FRAME, "Frames are JSON text, not binary.")
        limit = settings.CHATBOX_MAX_FRAME_BYTES
        if len(text_data) > limit or len(text_data.encode("utf-8")) > limit:
            raise ApplicationError(ErrorCode.TOO_LARGE, f"A frame holds at most {limit} bytes.")
        try:
            frame = json.loads(text_data)
        # Not only JSONDecodeError: deep nesting raises RecursionError, and an integer of more
        # than 4300 digits a plain ValueError; neither may take the socket down.
        except (ValueError, RecursionError) as exc:
            raise ApplicationError(ErrorCode.INVALID_FRAME, "The frame is not valid JSON.") from exc
        if not isinstance(frame, dict):
            raise ApplicationError(ErrorCode.INVALID_FRAME, "A frame is a JSON object.")
        return frame

    async def on_ping(self, fields: dict[str, Any]) -> None:
        # Presence needs the socket's row seen within CHATBOX_PRESENCE_TTL_SECONDS, not at every
        # heartbeat: written at most once a quarter of that, a ping rarely waits for the
        # database thread (the web app pings every 25 s; the TTL is 120 s).
        now = time.monotonic()
        if now - self.seen_written_at >= settings.CHATBOX_PRESENCE_TTL_SECONDS / 4:
            await database_sync_to_async(services.connection_seen)(channel_name=self.channel_name)
            self.seen_written_at = now
        await self._send_frame({"type": "pong"})

    async def on_subscribe(self, fields: dict[str, Any]) -> None:
        conversation = await _conversation_of_member(self.user, fields["conversation"])
        conversation_id, head = conversation.pk, conversation.head_seq
        if fields["after"] > head:
            # A mark past the head would silently swallow the events up to it.
            raise ApplicationError(
                ErrorCode.INVALID_FRAME,
                f"after {fields['after']} is beyond the conversation's head {head}.",
                {"after": [f"at most {head}"]},
            )
        # Join the group first: whatever commits from now on is announced to us, and whatever
        # committed before is in the replay below; the delivered mark drops the overlap.
        await self.channel_layer.group_add(
            realtime.conversation_group(conversation_id), self.channel_name
        )
        self.delivered[conversation_id] = fields["after"]
        await self._replay(conversation_id, as_history=True)
        checkpoint, online, marks = await _conversation_state(conversation_id)
        await self._send_frame(
            {
                "type": "subscribed",
                "conversation": str(conversation_id),
                "head": self.delivered[conversation_id],
                # The latest signed checkpoint, for the client to keep (docs/evidence.md).
                "checkpoint": checkpoint,
            }
        )
        for user_id in sorted(online - {self.user.pk}):
            await self._send_frame({"type": "presence", "user": {"id": user_id}, "online": True})
        for user_id, seq in sorted(marks.items()):
            if user_id != self.user.pk and seq:
                await self._send_frame(
                    {
                        "type": "read",
                        "conversation": str(conversation_id),
                        "user": {"id": user_id},
                        "seq": seq,
                    }
                )

    async def on_unsubscribe(self, fields: dict[str, Any]) -> None:
        conversation_id = (await _conversation_of_member(self.user, fields["conversation"])).pk
        self.delivered.pop(conversation_id, None)
        await self.channel_layer.group_discard(
            realtime.conversation_group(conversation_id), self.channel_name
        )

    async def on_send(self, fields: dict[str, Any]) -> None:
        """Queue the message for the next group commit and go on reading frames and notices;
        the ``ack`` follows once it is stored (``_acks_flush``). Waiting here would let the
        notices of a busy sender's conversations pile up behind its own sends."""
        if len(self.unacked) >= SENDS_IN_FLIGHT:
            raise ApplicationError(
                ErrorCode.RATE_LIMITED,
                f"{SENDS_IN_FLIGHT} sends are waiting for their ack; wait for them.",
            )
        stored = group_commit.message_send(
            services.SendRequest(
                conversation_id=fields["conversation"],
                sender=self.user,
                client_id=fields["client_id"],
                body=fields["body"],
            )
        )
        self.unacked.append((stored, fields["client_id"]))
        stored.add_done_callback(self._acks_due)

    def _acks_due(self, stored: asyncio.Future[Event]) -> None:
        if stored.cancelled():  # the socket is going away
            return
        flushing = asyncio.ensure_future(self._acks_flush())
        self.acks_flushing.add(flushing)
        flushing.add_done_callback(self.acks_flushing.discard)

    async def _acks_flush(self) -> None:
        """Answer every send whose group commit is over, in the order the sends came: an
        ``ack``, or the ``error`` that refused it."""
        async with self.acks_lock:
            while self.unacked and self.unacked[0][0].done():
                stored, client_id = self.unacked.popleft()
                if stored.cancelled():
                    continue
                failure = stored.exception()
                if isinstance(failure, ApplicationError):
                    await self._send_error(failure, str(client_id))
                elif failure is not None:
                    logger.error("a send failed", exc_info=failure)
                    await self.close(code=realtime.CLOSE_INTERNAL_ERROR)
                    return
                else:
                    event = stored.result()
                    await self._ack(event.conversation_id, client_id, event.seq)

    async def _acks_before(self, messages: list[dict[str, Any]]) -> None:
        """One's own message comes after its ``ack``: wait for the acks of the sends among
        ``messages`` (committed already, or they would not be here) and send them first."""
        mine = {
            message["client_id"]
            for message in messages
            if (message["sender"] or {}).get("id") == self.user.pk
        }
        waiting = [stored for stored, client_id in self.unacked if str(client_id) in mine]
        if waiting:
            await asyncio.wait(waiting)
            await self._acks_flush()

    async def on_edit(self, fields: dict[str, Any]) -> None:
        event = await _budgeted(
            self.user,
            services.message_edit,
            conversation_id=fields["conversation"],
            editor=self.user,
            client_id=fields["client_id"],
            seq=fields["seq"],
            body=fields["body"],
        )
        await self._ack(event.conversation_id, fields["client_id"], event.seq)

    async def on_delete(self, fields: dict[str, Any]) -> None:
        event = await _budgeted(
            self.user,
            services.message_delete,
            conversation_id=fields["conversation"],
            by=self.user,
            client_id=fields["client_id"],
            seq=fields["seq"],
        )
        await self._ack(event.conversation_id, fields["client_id"], event.seq)

    async def on_typing(self, fields: dict[str, Any]) -> None:
        conversation = await _conversation_of_member(self.user, fields["conversation"])
        conversation_id = conversation.pk
        user = await _fresh_user(self.user.pk)
        if user is None or user.is_banned:
            raise ApplicationError(ErrorCode.BANNED, "This account is banned.")
        if user.is_suspended:
            raise ApplicationError(ErrorCode.SUSPENDED, "Your account is suspended.")
        if conversation.closed_at is not None:
            raise ApplicationError(ErrorCode.CLOSED, "This conversation is closed.")
        # Typing is not stored, and one notice per interval is plenty for the other side.
        now = time.monotonic()
        if now - self.typing_sent_at.get(conversation_id, 0.0) < (
            settings.CHATBOX_TYPING_INTERVAL_SECONDS
        ):
            return
        self.typing_sent_at[conversation_id] = now
        await self.channel_layer.group_send(
            realtime.conversation_group(conversation_id),
            {
                "type": "chat.typing",
                "conversation": str(conversation_id),
                "user_id": self.user.pk,
                "name": self.user.name,
            },
        )

    async def on_read(self, fields: dict[str, Any]) -> None:
        await database_sync_to_async(services.read_mark)(
            conversation_id=fields["conversation"], user=self.user, seq=fields["seq"]
        )

    async def _ack(self, conversation_id: uuid.UUID, client_id: uuid.UUID, seq: int) -> None:
        await self._send_frame(
            {
                "type": "ack",
                "conversation": str(conversation_id),
                "client_id": str(client_id),
                "seq": seq,
            }
        )

    # -- channel layer messages --------------------------------------------------------------

    async def chat_event(self, message: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(message["conversation"])
        delivered = self.delivered.get(conversation_id)
        if delivered is None or message["seq"] <= delivered:
            return
        # The notice follows on from this socket's mark: its ready-made frames are exactly
        # what is missing. Otherwise (a notice lost or overtaken) the database says.
        if message.get("first") == delivered + 1 and (frames := realtime.notice_frames(message)):
            if self.unacked:  # the notice may come before the acks of this socket's own sends
                await self._acks_before([json.loads(frame) for frame in frames])
            for frame in frames:
                await self.send(text_data=frame)
            self.delivered[conversation_id] = message["seq"]
            return
        await self._replay(conversation_id, as_history=False)

    async def chat_typing(self, message: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(message["conversation"])
        if message["user_id"] != self.user.pk and conversation_id in self.delivered:
            await self._send_frame(
                {
                    "type": "typing",
                    "conversation": message["conversation"],
                    "user": {"id": message["user_id"], "name": message["name"]},
                }
            )

    async def chat_read(self, message: dict[str, Any]) -> None:
        if uuid.UUID(message["conversation"]) in self.delivered:
            await self._send_frame(
                {
                    "type": "read",
                    "conversation": message["conversation"],
                    "user": {"id": message["user_id"]},
                    "seq": message["seq"],
                }
            )

    async def chat_presence(self, message: dict[str, Any]) -> None:
        if message["user_id"] != self.user.pk:
            await self._send_frame(
                {
                    "type": "presence",
                    "user": {"id": message["user_id"]},
                    "online": message["online"],
                }
            )

    async def chat_checkpoint(self, message: dict[str, Any]) -> None:
        if uuid.UUID(message["conversation"]) in self.delivered:
            await self._send_frame(
                {
                    "type": "checkpoint",
                    "conversation": message["conversation"],
                    "checkpoint": message["checkpoint"],
                }
            )

    async def socket_close(self, message: dict[str, Any]) -> None:
        await self.close(code=message["code"])

    # -- delivery ----------------------------------------------------------------------------

    async def _replay(self, conversation_id: uuid.UUID, *, as_history: bool) -> None:
        """Send every stored event after this socket's mark, as history or as live messages."""
        sent_any = False
        while conversation_id in self.delivered:
            messages, more = await _page_after(conversation_id, self.delivered[conversation_id])
            if as_history and (messages or not sent_any):
                await self._send_frame(
                    {
                        "type": "history",
                        "conversation": str(conversation_id),
                        "messages": messages,
                        "more": more,
                    }
                )
            elif not as_history:
                if self.unacked:
                    await self._acks_before(messages)
                for message in messages:
                    await self._send_frame({"type": "message", **message})
            sent_any = True
            if messages:
                self.delivered[conversation_id] = messages[-1]["seq"]
            if not more:
                break

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))
