"""The websocket consumer against PROTOCOL.md §3: connect, subscribe, send, edit, delete, read,
typing, presence, errors, and what the channel layer carries.

Every socket is opened through the ``sockets`` fixture, which disconnects all of them when the
test ends, passed or failed. A ``ping`` answered by ``pong`` is the barrier that says a socket
has handled every frame sent before it, so "nothing arrived" is checked after a known point.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import user_suspend
from chatbox import realtime, services
from chatbox.models import Connection, Conversation, Event, Participant
from chatbox.presenters import messages_present
from reports.services import account_ban
from tests.factories import UserFactory, conversation_between
from tests.services import require_postgres
from tests.ws import receive_until, subscribe, ws_connect

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5
# How long a test holds a row lock at most; it lets go as soon as the test is done with it.
LOCK_TIMEOUT = 30


# -- support ---------------------------------------------------------------------------------


class Sockets:
    """Opens sockets for a test and remembers them, so that every one gets disconnected."""

    def __init__(self) -> None:
        self.opened: list[WebsocketCommunicator] = []

    async def open(
        self, user: User | None = None, **options: Any
    ) -> tuple[WebsocketCommunicator, bool, int | None]:
        communicator, accepted, code = await ws_connect(user, **options)
        self.opened.append(communicator)
        return communicator, accepted, code

    async def signed_in(self, user: User) -> WebsocketCommunicator:
        """An open socket of ``user`` whose connect has run to the end (presence included)."""
        communicator, accepted, _ = await self.open(user)
        assert accepted is True
        assert await settled(communicator) == []
        return communicator

    async def subscribed(
        self, user: User, conversation: Conversation, after: int = 0
    ) -> WebsocketCommunicator:
        """A socket of ``user`` subscribed to ``conversation``, read through its replay and the
        presence and read frames that follow it."""
        communicator = await self.signed_in(user)
        await subscribe(communicator, str(conversation.pk), after=after)
        await settled(communicator)
        return communicator


@pytest.fixture
async def sockets(transactional_db: None) -> AsyncIterator[Sockets]:
    # A channel layer of this test's own: channels-redis keeps asyncio locks bound to the event
    # loop it first ran on, and every test runs on a new loop.
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    opened = Sockets()
    yield opened
    for communicator in opened.opened:
        await communicator.disconnect()
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if hasattr(layer, "close_pools"):
        await layer.close_pools()


async def frame_from(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=TIMEOUT))


async def settled(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Ping and read through the pong; returns the frames that came before it."""
    await communicator.send_json_to({"type": "ping"})
    _, before = await receive_until(communicator, "pong", timeout=TIMEOUT)
    return before


async def send_text(
    communicator: WebsocketCommunicator,
    conversation: Conversation | str,
    body: str,
    client_id: str | None = None,
) -> str:
    client_id = client_id or str(uuid.uuid4())
    conversation_id = conversation if isinstance(conversation, str) else str(conversation.pk)
    await communicator.send_json_to(
        {"type": "send", "conversation": conversation_id, "client_id": client_id, "body": body}
    )
    return client_id


@database_sync_to_async
def stored(conversation: Conversation) -> list[tuple[int, str, int | None]]:
    """The conversation's events as ``(seq, kind, sender id)``, in seq order."""
    return list(
        Event.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "kind", "sender_id")
    )


@database_sync_to_async
def stored_count() -> int:
    return Event.objects.count()


@database_sync_to_async
def post(conversation: Conversation, sender: User, body: str) -> Event:
    """A message stored through the service, as another process of the deployment would."""
    return services.message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def post_many(conversation: Conversation, sender: User, count: int) -> None:
    for number in range(count):
        services.message_send(
            conversation_id=conversation.pk,
            sender=sender,
            client_id=uuid.uuid4(),
            body=f"message {number}",
        )


@database_sync_to_async
def last_read(user: User, conversation: Conversation) -> int:
    return Participant.objects.get(user=user, conversation=conversation).last_read_seq


@database_sync_to_async
def presented(conversation: Conversation, seq: int) -> dict[str, Any]:
    event = Event.objects.select_related("sender").get(conversation=conversation, seq=seq)
    return messages_present(conversation_id=conversation.pk, events=[event])[0]


def message_seqs(frames: list[dict[str, Any]]) -> list[int]:
    """The seqs that ``history`` and ``message`` frames delivered, in order of arrival."""
    seqs: list[int] = []
    for frame in frames:
        if frame["type"] == "history":
            seqs += [message["seq"] for message in frame["messages"]]
        elif frame["type"] == "message":
            seqs.append(frame["seq"])
    return seqs


def error(code: str, ref: str | None = None) -> dict[str, Any]:
    """The parts of an error frame a test pins down; the message is for people."""
    return {"type": "error", "code": code, "ref": ref}


def without_message(frame: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(frame.get("message"), str)
    assert frame["message"]
    return {key: value for key, value in frame.items() if key != "message"}


# -- connect ---------------------------------------------------------------------------------


async def test_a_socket_without_a_session_is_closed_with_4401(sockets: Sockets) -> None:
    # given no session cookie
    # when an anonymous client connects
    communicator, accepted, _ = await sockets.open(None)

    # then the socket is accepted only to be closed with 4401
    assert accepted is True
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4401,
    }


async def test_a_socket_with_an_unknown_session_is_closed_with_4401(sockets: Sockets) -> None:
    # given a session cookie the server never issued
    # when the client connects with it
    communicator, accepted, _ = await sockets.open(None, cookie="forgedsessionkey0123456789")

    # then it is closed with 4401
    assert accepted is True
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4401,
    }


async def test_a_banned_user_is_closed_with_4403(sockets: Sockets, provider: User) -> None:
    # given a banned provider
    await database_sync_to_async(account_ban)(user=provider)

    # when they connect
    communicator, accepted, _ = await sockets.open(provider)

    # then the socket is closed with 4403, and no connection is recorded
    assert accepted is True
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    assert await database_sync_to_async(provider.connections.count)() == 0


async def test_a_foreign_origin_is_refused(sockets: Sockets, buyer: User) -> None:
    # given a page on another site holding the buyer's cookie
    # when it opens the socket
    _, accepted, _ = await sockets.open(buyer, origin="http://evil.example")

    # then the handshake is refused and no connection is recorded
    assert accepted is False
    assert await database_sync_to_async(buyer.connections.count)() == 0


async def test_a_socket_without_an_origin_is_refused(sockets: Sockets, buyer: User) -> None:
    # given a client that sends no Origin header
    # when it connects with a valid session
    _, accepted, _ = await sockets.open(buyer, origin=None)

    # then the handshake is refused
    assert accepted is False


async def test_a_signed_in_user_connects_and_gets_pong_for_ping(
    sockets: Sockets, buyer: User
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when they ping
    await communicator.send_json_to({"type": "ping"})

    # then the answer is exactly a pong, and the connection is recorded
    assert await frame_from(communicator) == {"type": "pong"}
    assert await database_sync_to_async(buyer.connections.count)() == 1


# -- subscribe and replay --------------------------------------------------------------------


async def test_subscribe_replays_every_event_then_reports_the_head(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the opening event and two messages
    await post(conversation, provider, "Hello")
    await post(conversation, buyer, "Hi")
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes from the start
    await communicator.send_json_to(
        {"type": "subscribe", "conversation": str(conversation.pk), "after": 0}
    )
    history = await frame_from(communicator)
    subscribed = await frame_from(communicator)

    # then one history frame holds events 1-3, then comes subscribed with head 3
    assert history["type"] == "history"
    assert history["conversation"] == str(conversation.pk)
    assert history["more"] is False
    assert [(m["seq"], m["kind"], m["body"]) for m in history["messages"]] == [
        (1, "system", "Conversation opened."),
        (2, "text", "Hello"),
        (3, "text", "Hi"),
    ]
    assert subscribed == {
        "type": "subscribed",
        "conversation": str(conversation.pk),
        "head": 3,
        "checkpoint": None,
    }


async def test_subscribe_pages_history_by_200_with_more_while_more_follow(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given 450 events: the opening one and 449 messages
    await database_sync_to_async(post_many)(conversation, provider, 449)
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes from the start
    subscribed, history = await subscribe(communicator, str(conversation.pk), after=0)

    # then three history frames of 200, 200 and 50 events, `more` on all but the last
    assert [len(frame["messages"]) for frame in history] == [200, 200, 50]
    assert [frame["more"] for frame in history] == [True, True, False]
    assert message_seqs(history) == list(range(1, 451))
    checkpoint = subscribed.pop("checkpoint")  # the one signed at seq 400 (docs/evidence.md)
    assert (checkpoint["seq"], checkpoint["conversation"]) == (400, str(conversation.pk))
    assert subscribed == {"type": "subscribed", "conversation": str(conversation.pk), "head": 450}


async def test_subscribe_pages_exactly_200_events_in_one_frame(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given exactly 200 events
    await database_sync_to_async(post_many)(conversation, provider, 199)
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes from the start
    subscribed, history = await subscribe(communicator, str(conversation.pk), after=0)

    # then a single full frame says no more follow
    assert [(len(frame["messages"]), frame["more"]) for frame in history] == [(200, False)]
    assert subscribed["head"] == 200


async def test_subscribe_after_n_replays_only_later_events(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given 6 events
    await database_sync_to_async(post_many)(conversation, provider, 5)
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes after 4
    subscribed, history = await subscribe(communicator, str(conversation.pk), after=4)

    # then only 5 and 6 are replayed
    assert message_seqs(history) == [5, 6]
    assert subscribed["head"] == 6


async def test_subscribe_at_the_head_replays_an_empty_history(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given a conversation whose only event the buyer has seen
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes after the head
    subscribed, history = await subscribe(communicator, str(conversation.pk), after=1)

    # then history is empty and says so, and the head is 1
    assert history == [
        {"type": "history", "conversation": str(conversation.pk), "messages": [], "more": False}
    ]
    assert subscribed == {
        "type": "subscribed",
        "conversation": str(conversation.pk),
        "head": 1,
        "checkpoint": None,
    }


async def test_subscribe_after_beyond_the_head_is_an_invalid_frame(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a conversation at head 1 and a client that claims to have seen up to 5
    communicator = await sockets.signed_in(buyer)

    # when it subscribes after 5
    await communicator.send_json_to(
        {"type": "subscribe", "conversation": str(conversation.pk), "after": 5}
    )

    # then it gets invalid_frame and is not subscribed: a new message does not reach it
    assert without_message(await frame_from(communicator)) == error("invalid_frame")
    await post(conversation, provider, "Hello")
    assert await settled(communicator) == []


async def test_subscribe_tells_who_is_online_and_how_far_others_have_read(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the provider online, having read through their own message 2
    await sockets.signed_in(provider)
    await post(conversation, provider, "Hello")
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes
    await subscribe(communicator, str(conversation.pk))

    # then after `subscribed` the buyer learns the provider is online and has read 2
    assert await settled(communicator) == [
        {"type": "presence", "user": {"id": provider.pk}, "online": True},
        {
            "type": "read",
            "conversation": str(conversation.pk),
            "user": {"id": provider.pk},
            "seq": 2,
        },
    ]


async def test_live_messages_reach_every_subscribed_socket_of_both_parties(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer on two sockets and the provider on one, all subscribed
    buyer_laptop = await sockets.subscribed(buyer, conversation)
    buyer_phone = await sockets.subscribed(buyer, conversation)
    provider_socket = await sockets.subscribed(provider, conversation)
    # the provider's coming online reaches the buyer's sockets through the channel layer, on
    # its own time: wait for it rather than for a pong that may overtake it
    await receive_until(buyer_laptop, "presence")
    await receive_until(buyer_phone, "presence")

    # when the provider sends a message
    client_id = await send_text(provider_socket, conversation, "Draft is ready")

    # then every socket gets it as a `message` frame with seq 2
    ack, _ = await receive_until(provider_socket, "ack")
    assert ack["seq"] == 2
    for communicator in (buyer_laptop, buyer_phone, provider_socket):
        message = await frame_from(communicator)
        assert message["type"] == "message"
        assert (
            message["seq"],
            message["kind"],
            message["body"],
            message["client_id"],
            message["sender"],
        ) == (2, "text", "Draft is ready", client_id, {"id": provider.pk, "name": "Pat Provider"})


async def test_a_socket_that_is_not_subscribed_gets_no_messages(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's socket, not subscribed
    communicator = await sockets.signed_in(buyer)

    # when the provider posts
    await post(conversation, provider, "Hello")

    # then nothing arrives
    assert await communicator.receive_nothing(timeout=0.2) is True


async def test_unsubscribe_stops_live_messages(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer subscribed
    communicator = await sockets.subscribed(buyer, conversation)

    # when they unsubscribe and the provider posts
    await communicator.send_json_to({"type": "unsubscribe", "conversation": str(conversation.pk)})
    await settled(communicator)
    await post(conversation, provider, "Hello")

    # then no message reaches them
    assert await communicator.receive_nothing(timeout=0.2) is True


async def test_no_event_is_skipped_or_repeated_between_replay_and_live(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given 450 stored events, so that the replay takes three pages
    await database_sync_to_async(post_many)(conversation, provider, 449)
    communicator = await sockets.signed_in(buyer)

    # when the buyer subscribes and 30 more events commit one by one while the replay runs
    await communicator.send_json_to(
        {"type": "subscribe", "conversation": str(conversation.pk), "after": 0}
    )
    for number in range(30):
        await post(conversation, provider, f"late {number}")

    # then events 1-480 arrive exactly once each and in order, history before `subscribed`
    frames: list[dict[str, Any]] = []
    while message_seqs(frames)[-1:] != [480]:
        frames.append(await frame_from(communicator))
    assert message_seqs(frames) == list(range(1, 481))
    kinds = [frame["type"] for frame in frames if frame["type"] != "read"]
    position = kinds.index("subscribed")
    assert set(kinds[:position]) == {"history"}
    assert set(kinds[position + 1 :]) <= {"message"}
    subscribed = next(frame for frame in frames if frame["type"] == "subscribed")
    assert subscribed["head"] == message_seqs(frames[: frames.index(subscribed)])[-1]
    assert [frame for frame in await settled(communicator) if frame["type"] != "read"] == []


async def test_events_missed_while_offline_are_replayed_after_reconnect(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer saw events through 2, then went offline
    first = await sockets.subscribed(buyer, conversation)
    await post(conversation, provider, "Are you there?")
    assert (await frame_from(first))["seq"] == 2
    await first.disconnect()
    await post(conversation, provider, "Ping me when back")
    await post(conversation, provider, "Thanks")

    # when they reconnect and subscribe after 2
    second = await sockets.signed_in(buyer)
    subscribed, history = await subscribe(second, str(conversation.pk), after=2)

    # then exactly 3 and 4 are replayed
    assert message_seqs(history) == [3, 4]
    assert subscribed["head"] == 4


# -- send ------------------------------------------------------------------------------------


async def test_send_is_acked_with_its_seq_after_it_is_stored(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer subscribed
    communicator = await sockets.subscribed(buyer, conversation)

    # when they send a message
    client_id = await send_text(communicator, conversation, "Can you start Monday?")
    ack = await frame_from(communicator)

    # then the ack comes first and names seq 2, which is already stored with that client_id
    assert ack == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 2,
    }
    event = await database_sync_to_async(Event.objects.get)(conversation=conversation, seq=2)
    assert (event.kind, event.sender_id, str(event.client_id)) == ("text", buyer.pk, client_id)
    assert (await presented(conversation, 2))["body"] == "Can you start Monday?"
    message = await frame_from(communicator)
    assert (message["type"], message["seq"], message["client_id"]) == ("message", 2, client_id)


async def test_send_works_without_a_subscription(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer's socket, not subscribed
    communicator = await sockets.signed_in(buyer)

    # when they send
    client_id = await send_text(communicator, conversation, "Quick note")

    # then they get the ack, and no message frame since they did not subscribe
    assert await frame_from(communicator) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 2,
    }
    assert await settled(communicator) == []


async def test_a_repeated_client_id_is_acked_with_the_first_seq_and_stores_nothing(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given a message the buyer sent, acked as seq 2
    communicator = await sockets.signed_in(buyer)
    client_id = await send_text(communicator, conversation, "Deposit sent")
    first_ack = await frame_from(communicator)

    # when the same frame is sent again on the same socket
    await send_text(communicator, conversation, "Deposit sent", client_id=client_id)

    # then the ack repeats seq 2 and no event is added
    assert await frame_from(communicator) == first_ack
    assert first_ack["seq"] == 2
    assert await stored(conversation) == [(1, "system", None), (2, "text", buyer.pk)]


async def test_a_send_repeated_after_reconnect_is_acked_with_the_first_seq(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a message sent on a socket that dropped before the client saw the ack
    first = await sockets.signed_in(buyer)
    client_id = await send_text(first, conversation, "Invoice question")
    await frame_from(first)
    await first.disconnect()
    await post(conversation, provider, "Meanwhile")

    # when a new socket sends it again, even with another body
    second = await sockets.signed_in(buyer)
    await send_text(second, conversation, "Invoice question (retry)", client_id=client_id)

    # then the ack names the first seq, and nothing is stored
    assert await frame_from(second) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 2,
    }
    assert await stored(conversation) == [
        (1, "system", None),
        (2, "text", buyer.pk),
        (3, "text", provider.pk),
    ]
    assert (await presented(conversation, 2))["body"] == "Invoice question"


async def test_a_retried_send_is_not_delivered_twice(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the provider subscribed, and the buyer's message delivered to them once
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    client_id = await send_text(buyer_socket, conversation, "Once")
    await frame_from(buyer_socket)
    assert (await frame_from(provider_socket))["seq"] == 2

    # when the buyer retries it
    await send_text(buyer_socket, conversation, "Once", client_id=client_id)
    await frame_from(buyer_socket)

    # then the provider gets nothing more
    assert [f for f in await settled(provider_socket) if f["type"] != "read"] == []


async def test_the_same_client_id_from_two_people_makes_two_messages(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a client_id the buyer used
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.signed_in(provider)
    client_id = await send_text(buyer_socket, conversation, "Mine")
    assert (await frame_from(buyer_socket))["seq"] == 2

    # when the provider's client happens to send the same one
    await send_text(provider_socket, conversation, "Theirs", client_id=client_id)

    # then it is a new message: client ids are per sender
    assert (await frame_from(provider_socket))["seq"] == 3
    assert await stored(conversation) == [
        (1, "system", None),
        (2, "text", buyer.pk),
        (3, "text", provider.pk),
    ]


async def test_seq_is_gapless_across_senders_and_sockets(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given both parties on their own sockets
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.signed_in(provider)

    # when they send five messages between them
    acks = []
    for number, communicator in enumerate(
        [buyer_socket, provider_socket, buyer_socket, buyer_socket, provider_socket]
    ):
        await send_text(communicator, conversation, f"message {number}")
        acks.append((await receive_until(communicator, "ack"))[0]["seq"])

    # then the acks and the stored seqs run 2..6 without a gap, and the chain verifies
    assert acks == [2, 3, 4, 5, 6]
    assert [seq for seq, _, _ in await stored(conversation)] == [1, 2, 3, 4, 5, 6]
    verdict = await database_sync_to_async(services.conversation_chain_verify)(
        conversation_id=conversation.pk
    )
    assert (verdict.ok, verdict.events) == (True, 6)


async def test_sends_not_waiting_for_acks_are_stored_and_acked_in_the_order_sent(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given a subscribed socket
    communicator = await sockets.subscribed(buyer, conversation)

    # when it sends its whole budget of 20 messages without waiting for any ack
    client_ids = [await send_text(communicator, conversation, f"m{n}") for n in range(20)]

    # then the acks come in the order sent with seqs 2..21, and each own message after its ack
    frames = [await frame_from(communicator) for _ in range(40)]
    acks = [(f["client_id"], f["seq"]) for f in frames if f["type"] == "ack"]
    assert acks == list(zip(client_ids, range(2, 22), strict=True))
    for frame in frames:
        if frame["type"] == "message":
            acked_before = [f["seq"] for f in frames[: frames.index(frame)] if f["type"] == "ack"]
            assert frame["seq"] in acked_before
    assert message_seqs(frames) == list(range(2, 22))
    assert [body for _, _, body in await stored_texts(conversation)] == [f"m{n}" for n in range(20)]


@contextmanager
def conversation_locked(conversation: Conversation) -> Iterator[None]:
    """Hold the conversation's row lock from a connection of another thread, as a long
    transaction elsewhere would; the process's sends to it wait until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=conversation.pk)
                locked.set()
                release.wait(timeout=LOCK_TIMEOUT)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=LOCK_TIMEOUT)
        yield
    finally:
        release.set()
        holder.join()


async def test_a_send_beyond_100_waiting_for_their_ack_is_refused_at_once(
    sockets: Sockets, buyer: User, conversation: Conversation, settings: Any
) -> None:
    require_postgres()  # select_for_update does nothing on SQLite
    settings.CHATBOX_SEND_RATE = "1000/10"  # the budget is not what is tested here
    communicator = await sockets.subscribed(buyer, conversation)
    with conversation_locked(conversation):
        # given 100 sends waiting for their ack, stuck behind the lock
        client_ids = [await send_text(communicator, conversation, f"m{n}") for n in range(100)]

        # when the socket sends a 101st
        extra = await send_text(communicator, conversation, "one too many")

        # then it is refused at once, while the database is still busy with the others
        assert without_message(await frame_from(communicator)) == error("rate_limited", extra)

    # and once the lock goes, the 100 are stored and acked in the order sent; the 101st is not
    frames = [await frame_from(communicator) for _ in range(200)]
    acks = [(f["client_id"], f["seq"]) for f in frames if f["type"] == "ack"]
    assert acks == list(zip(client_ids, range(2, 102), strict=True))
    assert [body for _, _, body in await stored_texts(conversation)] == [
        f"m{n}" for n in range(100)
    ]


@database_sync_to_async
def stored_texts(conversation: Conversation) -> list[tuple[int, int | None, str]]:
    events = list(Event.objects.filter(conversation=conversation, kind="text").order_by("seq"))
    shown = messages_present(conversation_id=conversation.pk, events=events)
    return [(m["seq"], m["sender"]["id"], m["body"]) for m in shown]


async def deaf_while(
    conversation: Conversation, user: User, missed: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``missed`` while ``user``'s socket is out of the conversation's group: its notices
    never reach the socket, as when the channel layer drops them."""
    layer = get_channel_layer()
    group = realtime.conversation_group(conversation.pk)
    channel = await database_sync_to_async(lambda: Connection.objects.get(user=user).channel_name)()
    await layer.group_discard(group, channel)
    await missed()
    await layer.group_add(group, channel)


async def test_a_notice_after_a_lost_one_is_made_up_from_the_database(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's socket, which missed the notices of seq 2 and 3
    buyer_socket = await sockets.subscribed(buyer, conversation)
    await deaf_while(
        conversation,
        buyer,
        lambda: asyncio.gather(
            post(conversation, provider, "two"), post(conversation, provider, "three")
        ),
    )

    # when the notice of seq 4 arrives
    await post(conversation, provider, "four")

    # then the socket reads what it lacks and delivers 2, 3 and 4 once each, in order
    frames = [await frame_from(buyer_socket) for _ in range(3)]
    assert await settled(buyer_socket) == []
    assert [(f["type"], f["seq"], f["body"]) for f in frames] == [
        ("message", 2, "two"),
        ("message", 3, "three"),
        ("message", 4, "four"),
    ]


async def test_a_notice_whose_frames_do_not_open_is_read_from_the_database(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's socket, which missed the notice of seq 2
    buyer_socket = await sockets.subscribed(buyer, conversation)
    await deaf_while(conversation, buyer, lambda: post(conversation, provider, "the real text"))

    # when a notice of seq 2 comes whose frames no key of this server opens
    await get_channel_layer().group_send(
        realtime.conversation_group(conversation.pk),
        {
            "type": "chat.event",
            "conversation": str(conversation.pk),
            "first": 2,
            "seq": 2,
            "kek": "kek-unknown",
            "frames": b"forged",
        },
    )

    # then the socket delivers seq 2 as stored, nothing of the forgery
    message = await frame_from(buyer_socket)
    assert (message["type"], message["seq"], message["body"]) == ("message", 2, "the real text")
    assert await settled(buyer_socket) == []


async def test_a_body_of_exactly_10000_characters_is_stored(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given a body at the limit
    communicator = await sockets.signed_in(buyer)
    body = "a" * 10_000

    # when it is sent
    client_id = await send_text(communicator, conversation, body)

    # then it is stored whole
    assert await frame_from(communicator) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 2,
    }
    assert (await presented(conversation, 2))["body"] == body


# -- edit and delete -------------------------------------------------------------------------


async def test_editing_ones_own_message_adds_an_edit_event_and_updates_the_history(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's message 2, and the provider subscribed
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await send_text(buyer_socket, conversation, "Budget is 500")
    await frame_from(buyer_socket)
    await frame_from(provider_socket)

    # when the buyer edits it
    client_id = str(uuid.uuid4())
    await buyer_socket.send_json_to(
        {
            "type": "edit",
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": 2,
            "body": "Budget is 600",
        }
    )

    # then the edit is acked as seq 3, the provider gets it live, and history shows message 2
    # edited
    assert await frame_from(buyer_socket) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 3,
    }
    edit = await frame_from(provider_socket)
    assert (
        edit["type"],
        edit["seq"],
        edit["kind"],
        edit["body"],
        edit["data"],
        edit["client_id"],
        edit["sender"]["id"],
    ) == (
        "message",
        3,
        "edit",
        "Budget is 600",
        {"target": 2},
        client_id,
        buyer.pk,
    )
    assert await stored(conversation) == [
        (1, "system", None),
        (2, "text", buyer.pk),
        (3, "edit", buyer.pk),
    ]
    _, history = await subscribe(await sockets.signed_in(provider), str(conversation.pk))
    original = history[0]["messages"][1]
    assert (original["seq"], original["body"], original["html"], original["data"]) == (
        2,
        "Budget is 600",
        "Budget is 600",
        {"edited": True, "edited_at": edit["created_at"], "edit_seq": 3},
    )


async def test_deleting_ones_own_message_adds_a_delete_event_and_blanks_it_in_history(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's message 2, and the provider subscribed
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await send_text(buyer_socket, conversation, "Call me on 555 0100")
    await frame_from(buyer_socket)
    await frame_from(provider_socket)

    # when the buyer deletes it
    client_id = str(uuid.uuid4())
    await buyer_socket.send_json_to(
        {"type": "delete", "conversation": str(conversation.pk), "client_id": client_id, "seq": 2}
    )

    # then the delete is acked as seq 3, sent live with its target, and history blanks 2
    assert await frame_from(buyer_socket) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 3,
    }
    deletion = await frame_from(provider_socket)
    assert (
        deletion["type"],
        deletion["seq"],
        deletion["kind"],
        deletion["body"],
        deletion["data"],
    ) == ("message", 3, "delete", "", {"target": 2})
    _, history = await subscribe(await sockets.signed_in(provider), str(conversation.pk))
    original = history[0]["messages"][1]
    assert (
        original["seq"],
        original["kind"],
        original["body"],
        original["html"],
        original["data"],
    ) == (2, "text", "", "", {"deleted": True})


async def test_a_repeated_edit_is_acked_with_the_first_seq_and_stores_nothing(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given an edit the buyer made, acked as seq 3
    communicator = await sockets.signed_in(buyer)
    await send_text(communicator, conversation, "Typo")
    await frame_from(communicator)
    edit = {
        "type": "edit",
        "conversation": str(conversation.pk),
        "client_id": str(uuid.uuid4()),
        "seq": 2,
        "body": "Fixed",
    }
    await communicator.send_json_to(edit)
    first_ack = await frame_from(communicator)

    # when the same edit is sent again
    await communicator.send_json_to(edit)

    # then the same ack comes back and nothing is stored
    assert await frame_from(communicator) == first_ack
    assert first_ack["seq"] == 3
    assert await stored(conversation) == [
        (1, "system", None),
        (2, "text", buyer.pk),
        (3, "edit", buyer.pk),
    ]


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_changing_another_persons_message_is_forbidden_and_stores_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation, action: str
) -> None:
    # given the provider's message 2
    await post(conversation, provider, "Quote: 400")
    communicator = await sockets.signed_in(buyer)

    # when the buyer tries to edit or delete it
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": action,
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": 2,
            "body": "Quote: 40",
        }
    )

    # then `forbidden`, carrying the client_id, and nothing is stored
    assert without_message(await frame_from(communicator)) == error("forbidden", client_id)
    assert await stored(conversation) == [(1, "system", None), (2, "text", provider.pk)]
    assert (await presented(conversation, 2))["body"] == "Quote: 400"


@pytest.mark.parametrize("action", ["edit", "delete"])
@pytest.mark.parametrize(
    ("seq", "code"),
    [(1, "forbidden"), (99, "not_found")],
    ids=["the opening system event", "a missing seq"],
)
async def test_changing_what_is_not_ones_own_message_is_refused(
    sockets: Sockets, buyer: User, conversation: Conversation, action: str, seq: int, code: str
) -> None:
    # given a conversation holding only its opening system event 1
    communicator = await sockets.signed_in(buyer)

    # when the buyer tries to edit or delete seq 1 (a system event) or seq 99 (none)
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": action,
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": seq,
            "body": "Hacked",
        }
    )

    # then the error, carrying the client_id, and nothing is stored
    assert without_message(await frame_from(communicator)) == error(code, client_id)
    assert await stored(conversation) == [(1, "system", None)]


async def test_editing_a_deleted_message_is_not_found(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer's message 2, deleted as 3
    communicator = await sockets.signed_in(buyer)
    await send_text(communicator, conversation, "Oops")
    await frame_from(communicator)
    await communicator.send_json_to(
        {
            "type": "delete",
            "conversation": str(conversation.pk),
            "client_id": str(uuid.uuid4()),
            "seq": 2,
        }
    )
    await frame_from(communicator)

    # when they try to edit it
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": "edit",
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": 2,
            "body": "Back",
        }
    )

    # then `not_found` and nothing is stored
    assert without_message(await frame_from(communicator)) == error("not_found", client_id)
    assert await stored(conversation) == [
        (1, "system", None),
        (2, "text", buyer.pk),
        (3, "delete", buyer.pk),
    ]


# -- typing ----------------------------------------------------------------------------------


async def test_typing_reaches_the_other_party_only_and_stores_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given both parties subscribed, the buyer on two sockets
    provider_socket = await sockets.subscribed(provider, conversation)
    buyer_socket = await sockets.subscribed(buyer, conversation)
    buyer_phone = await sockets.subscribed(buyer, conversation)
    await receive_until(provider_socket, "presence")  # the buyer came online

    # when the buyer types
    await buyer_socket.send_json_to({"type": "typing", "conversation": str(conversation.pk)})

    # then the provider hears it with the buyer's id and name; the buyer's sockets do not
    assert await frame_from(provider_socket) == {
        "type": "typing",
        "conversation": str(conversation.pk),
        "user": {"id": buyer.pk, "name": "Bea Buyer"},
    }
    assert await settled(buyer_socket) == []
    assert await buyer_phone.receive_nothing(timeout=0.2) is True
    assert await stored(conversation) == [(1, "system", None)]


async def test_typing_again_within_the_interval_is_not_forwarded(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's typing notice reached the provider
    provider_socket = await sockets.subscribed(provider, conversation)
    buyer_socket = await sockets.subscribed(buyer, conversation)
    await receive_until(provider_socket, "presence")  # the buyer came online
    await buyer_socket.send_json_to({"type": "typing", "conversation": str(conversation.pk)})
    assert (await frame_from(provider_socket))["type"] == "typing"

    # when the buyer types again at once
    await buyer_socket.send_json_to({"type": "typing", "conversation": str(conversation.pk)})
    await settled(buyer_socket)

    # then the provider hears nothing more
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_typing_in_a_foreign_conversation_is_not_member(
    sockets: Sockets, buyer: User, provider: User
) -> None:
    # given a conversation between the provider and someone else
    stranger = await database_sync_to_async(UserFactory)(username="stranger")
    foreign = await database_sync_to_async(conversation_between)(stranger, provider)
    provider_socket = await sockets.subscribed(provider, foreign)
    communicator = await sockets.signed_in(buyer)

    # when the buyer sends typing into it
    await communicator.send_json_to({"type": "typing", "conversation": str(foreign.pk)})

    # then `not_member`, and the provider hears nothing
    assert without_message(await frame_from(communicator)) == error("not_member")
    assert await provider_socket.receive_nothing(timeout=0.2) is True


# -- read receipts ---------------------------------------------------------------------------


@sync_to_async
def unread_counts(user: User) -> dict[str, int]:
    client = Client()
    client.force_login(user)
    response = client.get("/api/conversations/")
    assert response.status_code == 200
    return {item["id"]: item["unread"] for item in response.json()}


async def test_read_is_stored_and_sent_to_the_conversation(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given three messages from the provider, unread by the subscribed buyer
    for body in ("one", "two", "three"):
        await post(conversation, provider, body)
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await subscribe(buyer_socket, str(conversation.pk))
    await settled(buyer_socket)
    assert await unread_counts(buyer) == {str(conversation.pk): 3}

    # when the buyer reads through 3
    await buyer_socket.send_json_to(
        {"type": "read", "conversation": str(conversation.pk), "seq": 3}
    )

    # then the mark is stored, the provider is told, and one message is still unread
    receipt = {
        "type": "read",
        "conversation": str(conversation.pk),
        "user": {"id": buyer.pk},
        "seq": 3,
    }
    assert await frame_from(provider_socket) == receipt
    assert await frame_from(buyer_socket) == receipt
    assert await last_read(buyer, conversation) == 3
    assert await unread_counts(buyer) == {str(conversation.pk): 1}
    assert await stored_count() == 4


async def test_a_read_mark_never_moves_backwards(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer has read through 3
    for body in ("one", "two"):
        await post(conversation, provider, body)
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await buyer_socket.send_json_to(
        {"type": "read", "conversation": str(conversation.pk), "seq": 3}
    )
    assert (await frame_from(provider_socket))["seq"] == 3

    # when an older client reports reading through 2
    await buyer_socket.send_json_to(
        {"type": "read", "conversation": str(conversation.pk), "seq": 2}
    )

    # then the mark stays at 3, no error, and nobody is told anything
    assert await settled(buyer_socket) == []
    assert await last_read(buyer, conversation) == 3
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_a_read_beyond_the_head_is_an_invalid_frame_and_changes_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a conversation at head 2 that the buyer has not read
    await post(conversation, provider, "Hello")
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)

    # when the buyer claims to have read 3
    await buyer_socket.send_json_to(
        {"type": "read", "conversation": str(conversation.pk), "seq": 3}
    )

    # then `invalid_frame`, the mark stays at 0, and the provider hears nothing
    assert without_message(await frame_from(buyer_socket)) == error("invalid_frame")
    assert await last_read(buyer, conversation) == 0
    assert await provider_socket.receive_nothing(timeout=0.2) is True
    assert await unread_counts(buyer) == {str(conversation.pk): 1}


async def test_ones_own_messages_never_count_as_unread(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when the buyer sends two messages and the provider one
    for body in ("one", "two"):
        await send_text(communicator, conversation, body)
        await frame_from(communicator)
    await post(conversation, provider, "three")

    # then only the provider's counts for the buyer, and nothing for the provider
    assert await unread_counts(buyer) == {str(conversation.pk): 1}
    assert await unread_counts(provider) == {str(conversation.pk): 0}


# -- presence --------------------------------------------------------------------------------


async def test_presence_follows_the_first_and_last_socket_of_a_user(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer subscribed while the provider is offline
    buyer_socket = await sockets.subscribed(buyer, conversation)

    # when the provider's first socket connects
    laptop = await sockets.signed_in(provider)

    # then the buyer learns the provider is online
    online = {"type": "presence", "user": {"id": provider.pk}, "online": True}
    assert await frame_from(buyer_socket) == online

    # when a second socket of the provider connects
    phone = await sockets.signed_in(provider)

    # then nothing is re-announced
    assert await buyer_socket.receive_nothing(timeout=0.2) is True

    # when the first socket closes
    await laptop.disconnect()

    # then the provider is still online: nothing is said
    assert await buyer_socket.receive_nothing(timeout=0.2) is True

    # when the last socket closes
    await phone.disconnect()

    # then the buyer learns the provider went offline
    assert await frame_from(buyer_socket) == {
        "type": "presence",
        "user": {"id": provider.pk},
        "online": False,
    }


async def test_a_socket_whose_process_died_goes_offline_when_it_expires(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer subscribed, and the provider's socket on a process that died: its row is
    # left behind, last seen longer ago than the presence TTL
    buyer_socket = await sockets.subscribed(buyer, conversation)
    await database_sync_to_async(Connection.objects.create)(
        channel_name="specific.dead-process!1",
        user=provider,
        seen_at=timezone.now() - timedelta(seconds=settings.CHATBOX_PRESENCE_TTL_SECONDS + 1),
    )
    # and the buyer's own socket, seen now, which must stay
    buyer_rows = await database_sync_to_async(Connection.objects.filter(user=buyer).count)()

    # when the expiry runs, twice
    told = await database_sync_to_async(services.connections_expire)()
    again = await database_sync_to_async(services.connections_expire)()

    # then the buyer learns the provider went offline, once, and only the dead row is gone
    assert (told, again) == (1, 0)
    assert await frame_from(buyer_socket) == {
        "type": "presence",
        "user": {"id": provider.pk},
        "online": False,
    }
    assert await buyer_socket.receive_nothing(timeout=0.2) is True
    assert not await database_sync_to_async(Connection.objects.filter(user=provider).exists)()
    remaining = await database_sync_to_async(Connection.objects.filter(user=buyer).count)()
    assert remaining == buyer_rows == 1


async def test_an_expired_row_of_a_user_still_connected_elsewhere_says_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    buyer_socket = await sockets.subscribed(buyer, conversation)
    await sockets.signed_in(provider)
    assert (await frame_from(buyer_socket))["online"] is True
    await database_sync_to_async(Connection.objects.create)(
        channel_name="specific.dead-process!2",
        user=provider,
        seen_at=timezone.now() - timedelta(seconds=settings.CHATBOX_PRESENCE_TTL_SECONDS + 1),
    )
    assert await database_sync_to_async(services.connections_expire)() == 0
    assert await buyer_socket.receive_nothing(timeout=0.2) is True
    assert await database_sync_to_async(Connection.objects.filter(user=provider).count)() == 1


async def _seen_at_set_back(user: User, seconds: int) -> Any:
    """Move the user's socket row's ``seen_at`` back; returns the value written."""
    moment = timezone.now() - timedelta(seconds=seconds)
    await database_sync_to_async(Connection.objects.filter(user=user).update)(seen_at=moment)
    return moment


async def _seen_at(user: User) -> Any:
    return await database_sync_to_async(lambda: Connection.objects.get(user=user).seen_at)()


async def test_a_heartbeat_soon_after_the_last_write_writes_nothing(
    sockets: Sockets, buyer: User
) -> None:
    # given a socket whose row was written at connect (its seen_at moved back, to tell)
    socket = await sockets.signed_in(buyer)
    marked = await _seen_at_set_back(buyer, 10)

    # when it pings within a quarter of the presence TTL of that write
    await settled(socket)

    # then it is answered and its row is left as it was
    assert await _seen_at(buyer) == marked


async def test_a_heartbeat_refreshes_the_row_once_a_quarter_of_the_ttl_has_passed(
    sockets: Sockets, buyer: User, settings: Any
) -> None:
    # given a presence TTL whose quarter has passed since the connect's write (a TTL of 0)
    settings.CHATBOX_PRESENCE_TTL_SECONDS = 0
    socket = await sockets.signed_in(buyer)
    marked = await _seen_at_set_back(buyer, 10)

    # when it pings
    await settled(socket)

    # then its row is seen now
    assert await _seen_at(buyer) > marked + timedelta(seconds=9)


async def test_ones_own_presence_is_not_announced_to_oneself(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer subscribed on one socket
    first = await sockets.subscribed(buyer, conversation)

    # when another socket of theirs connects and closes
    second = await sockets.signed_in(buyer)
    await second.disconnect()

    # then the first hears nothing about it
    assert await first.receive_nothing(timeout=0.2) is True


# -- errors ----------------------------------------------------------------------------------


async def _assert_error_then_alive(
    communicator: WebsocketCommunicator, code: str, ref: str | None = None
) -> None:
    assert without_message(await frame_from(communicator)) == error(code, ref)
    assert await settled(communicator) == []


@pytest.mark.parametrize(
    "text",
    [
        "this is not JSON",
        '{"type": "ping"',
        "[1, 2, 3]",
        '"subscribe"',
        "42",
        "null",
        '{"conversation": "x"}',
        '{"type": 7}',
        "[" * 20_000 + "]" * 20_000,
        '{"type": "read", "conversation": "x", "seq": ' + "9" * 5_000 + "}",
    ],
    ids=[
        "text",
        "truncated",
        "array",
        "string",
        "number",
        "null",
        "no-type",
        "numeric-type",
        "deeply-nested",
        "huge-number",
    ],
)
async def test_a_frame_that_is_not_a_typed_json_object_is_invalid(
    sockets: Sockets, buyer: User, text: str
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a malformed frame arrives
    await communicator.send_to(text_data=text)

    # then `invalid_frame` without a ref, and the socket stays open
    await _assert_error_then_alive(communicator, "invalid_frame")


async def test_a_binary_frame_is_invalid(sockets: Sockets, buyer: User) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a binary frame arrives, even one holding JSON
    await communicator.send_to(bytes_data=b'{"type": "ping"}')

    # then `invalid_frame`, and the socket stays open
    await _assert_error_then_alive(communicator, "invalid_frame")


async def test_an_empty_text_frame_is_invalid(sockets: Sockets, buyer: User) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when an empty text frame arrives
    await communicator.send_input({"type": "websocket.receive", "text": ""})

    # then `invalid_frame`, and the socket stays open
    await _assert_error_then_alive(communicator, "invalid_frame")


CLIENT_ID = "0b5c2f4e-8d1a-4c3b-9e7f-6a5d4c3b2a19"


@pytest.mark.parametrize(
    ("frame", "ref"),
    [
        ({"type": "subscribe"}, None),
        ({"type": "subscribe", "conversation": "{conversation}", "after": "0"}, None),
        ({"type": "subscribe", "conversation": "{conversation}", "after": True}, None),
        ({"type": "subscribe", "conversation": "{conversation}", "after": -1}, None),
        ({"type": "subscribe", "conversation": "{conversation}", "after": 1.5}, None),
        ({"type": "subscribe", "conversation": 12, "after": 0}, None),
        ({"type": "unsubscribe"}, None),
        ({"type": "send", "conversation": "{conversation}", "client_id": CLIENT_ID}, CLIENT_ID),
        ({"type": "send", "conversation": "{conversation}", "body": "hi"}, None),
        ({"type": "send", "client_id": CLIENT_ID, "body": "hi"}, CLIENT_ID),
        (
            {
                "type": "send",
                "conversation": "{conversation}",
                "client_id": "not-a-uuid",
                "body": "hi",
            },
            "not-a-uuid",
        ),
        ({"type": "send", "conversation": "{conversation}", "client_id": 5, "body": "hi"}, None),
        (
            {"type": "send", "conversation": "{conversation}", "client_id": CLIENT_ID, "body": 5},
            CLIENT_ID,
        ),
        (
            {
                "type": "send",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "body": None,
            },
            CLIENT_ID,
        ),
        (
            {
                "type": "send",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "body": ["hi"],
            },
            CLIENT_ID,
        ),
        (
            {"type": "send", "conversation": "{conversation}", "client_id": CLIENT_ID, "body": ""},
            CLIENT_ID,
        ),
        (
            {
                "type": "send",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "body": " \n\t\u00a0 ",
            },
            CLIENT_ID,
        ),
        (
            {
                "type": "send",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "body": "nul \u0000 inside",
            },
            CLIENT_ID,
        ),
        (
            {
                "type": "edit",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "seq": "2",
                "body": "new",
            },
            CLIENT_ID,
        ),
        (
            {"type": "edit", "conversation": "{conversation}", "client_id": CLIENT_ID, "seq": 2},
            CLIENT_ID,
        ),
        (
            {
                "type": "edit",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "seq": 0,
                "body": "new",
            },
            CLIENT_ID,
        ),
        (
            {
                "type": "edit",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "seq": 2,
                "body": "   ",
            },
            CLIENT_ID,
        ),
        ({"type": "delete", "conversation": "{conversation}", "client_id": CLIENT_ID}, CLIENT_ID),
        (
            {
                "type": "delete",
                "conversation": "{conversation}",
                "client_id": CLIENT_ID,
                "seq": "2",
            },
            CLIENT_ID,
        ),
        ({"type": "typing"}, None),
        ({"type": "read", "conversation": "{conversation}"}, None),
        ({"type": "read", "conversation": "{conversation}", "seq": "1"}, None),
        ({"type": "read", "conversation": "{conversation}", "seq": -1}, None),
    ],
    ids=lambda value: json.dumps(value)[:60] if isinstance(value, dict) else None,
)
async def test_a_frame_with_missing_or_mistyped_fields_is_invalid_and_stores_nothing(
    sockets: Sockets,
    buyer: User,
    provider: User,
    conversation: Conversation,
    frame: dict[str, Any],
    ref: str | None,
) -> None:
    # given a message of the buyer's at seq 2, the buyer's socket and the provider subscribed
    await post(conversation, buyer, "Original")
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    text = json.dumps(frame).replace("{conversation}", str(conversation.pk))

    # when the frame arrives
    await communicator.send_to(text_data=text)

    # then `invalid_frame` with the client_id as ref, the socket stays open, nothing is stored,
    # no read mark moves and the provider hears nothing
    await _assert_error_then_alive(communicator, "invalid_frame", ref)
    assert await stored(conversation) == [(1, "system", None), (2, "text", buyer.pk)]
    assert await last_read(buyer, conversation) == 2
    assert await provider_socket.receive_nothing(timeout=0.2) is True


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "subscribe", "after": 2**63}, "invalid_frame"),
        ({"type": "read", "seq": 2**63}, "invalid_frame"),
        ({"type": "edit", "client_id": CLIENT_ID, "seq": 2**63, "body": "new"}, "not_found"),
        ({"type": "delete", "client_id": CLIENT_ID, "seq": 2**63}, "not_found"),
    ],
    ids=["subscribe", "read", "edit", "delete"],
)
async def test_a_seq_beyond_any_database_integer_is_refused_without_harm(
    sockets: Sockets,
    buyer: User,
    conversation: Conversation,
    frame: dict[str, Any],
    code: str,
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a frame names a seq of 2**63
    await communicator.send_json_to({**frame, "conversation": str(conversation.pk)})

    # then a plain error frame, the socket stays open, and nothing changed
    await _assert_error_then_alive(communicator, code, frame.get("client_id"))
    assert await stored(conversation) == [(1, "system", None)]
    assert await last_read(buyer, conversation) == 0


async def test_an_unknown_frame_type_is_reported(sockets: Sockets, buyer: User) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a frame of an unknown type arrives
    await communicator.send_json_to({"type": "shout", "client_id": CLIENT_ID})

    # then `unknown_type` naming its client_id, and the socket stays open
    await _assert_error_then_alive(communicator, "unknown_type", CLIENT_ID)


@pytest.mark.parametrize(
    "frame_type", ["subscribe", "unsubscribe", "send", "edit", "delete", "typing", "read"]
)
async def test_every_frame_into_a_foreign_conversation_is_not_member(
    sockets: Sockets, buyer: User, provider: User, frame_type: str
) -> None:
    # given a conversation between the provider and someone else, with a message of theirs
    stranger = await database_sync_to_async(UserFactory)(username="stranger")
    foreign = await database_sync_to_async(conversation_between)(stranger, provider)
    await post(foreign, provider, "Private")
    provider_socket = await sockets.subscribed(provider, foreign)
    communicator = await sockets.signed_in(buyer)

    # when the buyer sends a frame of that type into it
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": frame_type,
            "conversation": str(foreign.pk),
            "client_id": client_id,
            "seq": 2,
            "after": 0,
            "body": "Let me in",
        }
    )

    # then `not_member`, nothing is stored or delivered, and the socket stays open
    await _assert_error_then_alive(communicator, "not_member", client_id)
    assert await stored(foreign) == [(1, "system", None), (2, "text", provider.pk)]
    assert await provider_socket.receive_nothing(timeout=0.2) is True


@pytest.mark.parametrize(
    "conversation_id",
    [
        "6f1c1d3e-0000-4000-8000-000000000000",
        "garbage",
        "",
        "../../etc/passwd",
    ],
)
@pytest.mark.parametrize("frame_type", ["subscribe", "send", "read"])
async def test_an_unknown_conversation_is_not_found(
    sockets: Sockets,
    buyer: User,
    conversation: Conversation,
    frame_type: str,
    conversation_id: str,
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a frame names a conversation that does not exist
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": frame_type,
            "conversation": conversation_id,
            "client_id": client_id,
            "seq": 0,
            "body": "Hello",
        }
    )

    # then `not_found` (or `invalid_frame` for an empty id), and nothing is stored
    code = "invalid_frame" if conversation_id == "" else "not_found"
    await _assert_error_then_alive(communicator, code, client_id)
    assert await stored_count() == 1


async def test_a_body_over_10000_characters_is_too_large_and_stores_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the provider subscribed
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)

    # when the buyer sends 10,001 characters
    client_id = await send_text(communicator, conversation, "a" * 10_001)

    # then `too_large` with the client_id, nothing is stored or delivered
    await _assert_error_then_alive(communicator, "too_large", client_id)
    assert await stored(conversation) == [(1, "system", None)]
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_an_edit_over_10000_characters_is_too_large(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer's message 2
    communicator = await sockets.signed_in(buyer)
    await send_text(communicator, conversation, "Short")
    await frame_from(communicator)

    # when they edit it to 10,001 characters
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": "edit",
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": 2,
            "body": "a" * 10_001,
        }
    )

    # then `too_large` and nothing is stored
    await _assert_error_then_alive(communicator, "too_large", client_id)
    assert await stored(conversation) == [(1, "system", None), (2, "text", buyer.pk)]


@pytest.mark.parametrize("filler", ["a", "\u00e9"], ids=["ascii", "two-byte"])
async def test_a_frame_over_64_kib_is_too_large(
    sockets: Sockets, buyer: User, conversation: Conversation, filler: str
) -> None:
    # given the buyer's socket
    communicator = await sockets.signed_in(buyer)

    # when a send frame over 64 KiB arrives (in characters, or only in UTF-8 bytes)
    size = 65_537 if filler == "a" else 33_000
    text = json.dumps(
        {
            "type": "send",
            "conversation": str(conversation.pk),
            "client_id": CLIENT_ID,
            "body": filler * size,
        },
        ensure_ascii=False,
    )
    assert len(text.encode("utf-8")) > 64 * 1024
    await communicator.send_to(text_data=text)

    # then `too_large` (the frame is not read, so no ref), and nothing is stored
    await _assert_error_then_alive(communicator, "too_large")
    assert await stored(conversation) == [(1, "system", None)]


async def test_the_21st_send_in_a_burst_is_rate_limited_and_stores_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer sent 20 messages in a burst
    communicator = await sockets.signed_in(buyer)
    for number in range(20):
        await send_text(communicator, conversation, f"message {number}")
        assert (await frame_from(communicator))["seq"] == number + 2

    # when they send a 21st
    client_id = await send_text(communicator, conversation, "one too many")

    # then `rate_limited` with its client_id, and only the 20 are stored
    await _assert_error_then_alive(communicator, "rate_limited", client_id)
    assert await stored_count() == 21

    # and the budget is per person: the provider still sends
    provider_socket = await sockets.signed_in(provider)
    await send_text(provider_socket, conversation, "My turn")
    assert (await frame_from(provider_socket))["seq"] == 22


async def test_the_send_budget_is_shared_by_all_sockets_of_a_user(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer spent the budget on one socket
    first = await sockets.signed_in(buyer)
    for number in range(20):
        await send_text(first, conversation, f"message {number}")
        await frame_from(first)

    # when they send from a second socket
    second = await sockets.signed_in(buyer)
    client_id = await send_text(second, conversation, "sneaky")

    # then it is refused too
    await _assert_error_then_alive(second, "rate_limited", client_id)
    assert await stored_count() == 21


async def test_a_suspended_user_reads_history_but_cannot_send(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the provider's message, the buyer subscribed, then suspended
    await post(conversation, provider, "Here is the draft")
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await database_sync_to_async(user_suspend)(user=buyer, until=None)

    # when the buyer subscribes and sends
    _, history = await subscribe(communicator, str(conversation.pk))
    client_id = await send_text(communicator, conversation, "Nice")

    # then the history arrives, the send gets `suspended`, and nothing is stored or delivered
    assert message_seqs(history) == [1, 2]
    error_frame, _ = await receive_until(communicator, "error")
    assert without_message(error_frame) == error("suspended", client_id)
    assert await settled(communicator) == []
    assert await stored(conversation) == [(1, "system", None), (2, "text", provider.pk)]
    assert await provider_socket.receive_nothing(timeout=0.2) is True


@pytest.mark.parametrize("action", ["edit", "delete", "typing"])
async def test_a_suspended_user_cannot_edit_delete_or_type(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation, action: str
) -> None:
    # given the buyer's message 2, then the buyer suspended, the provider subscribed
    await post(conversation, buyer, "Before")
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await database_sync_to_async(user_suspend)(user=buyer, until=None)

    # when the buyer edits, deletes or types
    client_id = str(uuid.uuid4())
    await communicator.send_json_to(
        {
            "type": action,
            "conversation": str(conversation.pk),
            "client_id": client_id,
            "seq": 2,
            "body": "After",
        }
    )

    # then `suspended` naming the client_id, nothing is stored, and the provider hears nothing
    await _assert_error_then_alive(communicator, "suspended", client_id)
    assert await stored(conversation) == [(1, "system", None), (2, "text", buyer.pk)]
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_a_lapsed_suspension_lets_the_user_send_again(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given a suspension that ended a minute ago
    await database_sync_to_async(user_suspend)(
        user=buyer, until=timezone.now() - timezone.timedelta(minutes=1)
    )
    communicator = await sockets.signed_in(buyer)

    # when the buyer sends
    client_id = await send_text(communicator, conversation, "I'm back")

    # then it is stored
    assert await frame_from(communicator) == {
        "type": "ack",
        "conversation": str(conversation.pk),
        "client_id": client_id,
        "seq": 2,
    }


async def test_sending_into_a_closed_conversation_is_refused_and_stores_nothing(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a closed conversation, with the provider subscribed
    await database_sync_to_async(Conversation.objects.filter(pk=conversation.pk).update)(
        closed_at=timezone.now()
    )
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)

    # when the buyer sends
    client_id = await send_text(communicator, conversation, "Anyone?")

    # then `closed` with the client_id, and nothing is stored or delivered
    await _assert_error_then_alive(communicator, "closed", client_id)
    assert await stored(conversation) == [(1, "system", None)]
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_typing_in_a_closed_conversation_is_refused_and_not_forwarded(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a closed conversation, with the provider subscribed
    await database_sync_to_async(Conversation.objects.filter(pk=conversation.pk).update)(
        closed_at=timezone.now()
    )
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)

    # when the buyer types
    await communicator.send_json_to({"type": "typing", "conversation": str(conversation.pk)})

    # then `closed`, and the provider hears nothing
    await _assert_error_then_alive(communicator, "closed", None)
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_errors_keep_the_socket_and_its_subscriptions(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer subscribed, then sending a run of bad frames
    communicator = await sockets.subscribed(buyer, conversation)
    for text in ("nonsense", '{"type": "shout"}', '{"type": "send"}'):
        await communicator.send_to(text_data=text)
        assert (await frame_from(communicator))["type"] == "error"

    # when the provider posts
    await post(conversation, provider, "Still there?")

    # then the buyer's socket still delivers it
    message = await frame_from(communicator)
    assert (message["type"], message["seq"], message["body"]) == ("message", 2, "Still there?")


# -- account actions -------------------------------------------------------------------------


async def test_banning_a_user_closes_their_open_sockets_with_4403(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the provider on two sockets and the buyer subscribed
    buyer_socket = await sockets.subscribed(buyer, conversation)
    laptop = await sockets.subscribed(provider, conversation)
    phone = await sockets.signed_in(provider)
    await settled(buyer_socket)

    # when support bans the provider
    await database_sync_to_async(account_ban)(user=provider)

    # then both of the provider's sockets close with 4403, and the buyer's stays open
    for communicator in (laptop, phone):
        assert await communicator.receive_output(timeout=TIMEOUT) == {
            "type": "websocket.close",
            "code": 4403,
        }
    assert [f for f in await settled(buyer_socket) if f["type"] != "presence"] == []


async def test_a_banned_users_stale_socket_cannot_send(
    sockets: Sockets, buyer: User, conversation: Conversation
) -> None:
    # given the buyer banned without the close notice reaching their socket
    communicator = await sockets.signed_in(buyer)
    await database_sync_to_async(User.objects.filter(pk=buyer.pk).update)(
        standing=User.Standing.BANNED
    )

    # when the socket sends
    client_id = await send_text(communicator, conversation, "Still here")

    # then `banned`, the socket closes with 4403, and nothing is stored
    assert without_message(await frame_from(communicator)) == error("banned", client_id)
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    assert await stored(conversation) == [(1, "system", None)]


async def test_a_banned_users_stale_socket_cannot_type(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer banned without the close notice reaching their socket
    communicator = await sockets.signed_in(buyer)
    provider_socket = await sockets.subscribed(provider, conversation)
    await database_sync_to_async(User.objects.filter(pk=buyer.pk).update)(
        standing=User.Standing.BANNED
    )

    # when the socket sends a typing notice
    await communicator.send_json_to({"type": "typing", "conversation": str(conversation.pk)})

    # then `banned`, the socket closes with 4403, and the provider hears nothing
    assert without_message(await frame_from(communicator)) == error("banned", None)
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    assert await provider_socket.receive_nothing(timeout=0.2) is True


async def test_logging_out_closes_the_users_sockets_with_4401(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given the buyer signed in over HTTP with a socket open, and the provider's socket
    client = Client()
    await sync_to_async(client.force_login)(buyer)
    buyer_socket = await sockets.signed_in(buyer)
    provider_socket = await sockets.signed_in(provider)

    # when the buyer logs out
    response = await sync_to_async(client.post)(
        "/api/auth/logout/", content_type="application/json"
    )

    # then the buyer's socket closes with 4401 and the provider's stays open
    assert response.status_code == 204
    assert await buyer_socket.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": 4401,
    }
    assert await settled(provider_socket) == []


# -- the channel layer -----------------------------------------------------------------------


async def test_the_channel_layer_carries_no_message_text(
    sockets: Sockets, buyer: User, provider: User, conversation: Conversation
) -> None:
    # given both parties' sockets and a raw listener on the conversation's group
    communicator = await sockets.subscribed(buyer, conversation)
    provider_socket = await sockets.signed_in(provider)
    await receive_until(communicator, "presence")  # the provider came online
    layer = get_channel_layer()
    listener = await layer.new_channel()
    group = realtime.conversation_group(conversation.pk)
    await layer.group_add(group, listener)

    # when the buyer sends, edits and types, and the provider reads
    secret, edited = "Wire 900 to IBAN DE89370400440532013000", "Secret plan B"
    await send_text(communicator, conversation, secret)
    delivered, _ = await receive_until(communicator, "message")
    await communicator.send_json_to(
        {
            "type": "edit",
            "conversation": str(conversation.pk),
            "client_id": str(uuid.uuid4()),
            "seq": 2,
            "body": edited,
        }
    )
    await receive_until(communicator, "message")
    await communicator.send_json_to({"type": "typing", "conversation": str(conversation.pk)})
    await settled(communicator)
    await provider_socket.send_json_to(
        {"type": "read", "conversation": str(conversation.pk), "seq": 3}
    )
    await settled(provider_socket)

    # then the group carried ids and small facts in the clear, never the text; a new text
    # message's frame only sealed with the notice key
    carried = []
    while True:
        try:
            carried.append(await asyncio.wait_for(layer.receive(listener), timeout=0.5))
        except TimeoutError:
            break
    await layer.group_discard(group, listener)
    assert [(m["type"], m.get("seq")) for m in carried] == [
        ("chat.event", 2),
        ("chat.event", 3),
        ("chat.typing", None),
        ("chat.read", 3),
    ]
    assert carried[0].keys() == {"type", "conversation", "first", "seq", "kek", "frames"}
    assert (carried[0]["conversation"], carried[0]["first"]) == (str(conversation.pk), 2)
    assert carried[1] == {"type": "chat.event", "conversation": str(conversation.pk), "seq": 3}
    assert [json.loads(frame) for frame in realtime.notice_frames(carried[0]) or []] == [delivered]
    for message in carried:
        in_the_clear = {key: value for key, value in message.items() if key != "frames"}
        assert secret not in json.dumps(in_the_clear)
        assert edited not in json.dumps(in_the_clear)
        assert secret.encode() not in message.get("frames", b"")
