"""End to end: a real daphne process, real websocket clients, sessions from the real HTTP API.

Each test is a plain function that makes its data with the ORM (committed: the server is
another process) and then runs its conversation in ``asyncio.run``. Every wait for a frame
has a timeout, so a broken server fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from accounts.models import User
from chatbox.models import Connection, Conversation, Event
from chatbox.realtime import CLOSE_TRY_AGAIN_LATER
from tests.factories import PASSWORD, UserFactory, conversation_between
from tests.live import (
    ApiSession,
    Frame,
    LiveServer,
    api_login,
    chat_socket,
    history_messages,
    open_socket,
    running_daphne,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Over the consumer's 64 KiB frame limit, under daphne's 256 KiB message limit.
FRAME_OVER_CONSUMER_LIMIT = 100_000
# Over daphne's 256 KiB message limit (tests/live starts daphne as `make run` does).
FRAME_OVER_TRANSPORT_LIMIT = 300_000


def of_type(frames: list[Frame], frame_type: str) -> list[Frame]:
    return [frame for frame in frames if frame["type"] == frame_type]


def said(message: Frame) -> tuple[int, str, int | None, str]:
    """What a ``message`` frame says: seq, kind, sender id, body."""
    sender = message["sender"]
    return message["seq"], message["kind"], sender["id"] if sender else None, message["body"]


def seqs_seen(frames: list[Frame]) -> list[int]:
    return [frame["seq"] for frame in of_type(frames, "message")]


def two_people() -> tuple[User, User, str]:
    buyer = UserFactory(username="bea", display_name="Bea Buyer")
    provider = UserFactory(username="pat", display_name="Pat Provider")
    return buyer, provider, str(conversation_between(buyer, provider).pk)


def sign_in(server: LiveServer, *users: User) -> list[ApiSession]:
    return [api_login(server, user.username, PASSWORD) for user in users]


def send_frame(conversation: str, body: str, client_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "send",
        "conversation": conversation,
        "client_id": client_id or str(uuid.uuid4()),
        "body": body,
    }


def test_two_people_chat_both_ways(daphne_server: LiveServer) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    bea_says, pat_says = str(uuid.uuid4()), str(uuid.uuid4())

    async def scenario() -> tuple[list[Frame], list[Frame]]:
        async with (
            chat_socket(daphne_server, session_id=bea.session_id) as bea_socket,
            chat_socket(daphne_server, session_id=pat.session_id) as pat_socket,
        ):
            await bea_socket.subscribe(conversation)
            await pat_socket.subscribe(conversation)

            # when
            await bea_socket.send(send_frame(conversation, "Hello Pat, the logo?", bea_says))
            pat_frames = await pat_socket.collect(lambda frames: seqs_seen(frames) == [2])
            await pat_socket.send(send_frame(conversation, "Draft by Friday, Bea.", pat_says))

            def both_messages_and_an_ack(frames: list[Frame]) -> bool:
                return seqs_seen(frames) == [2, 3] and len(of_type(frames, "ack")) == 1

            bea_frames = await bea_socket.collect(both_messages_and_an_ack)
            pat_frames += await pat_socket.collect(
                lambda frames: both_messages_and_an_ack(pat_frames + frames)
            )
            return bea_frames, pat_frames

    bea_frames, pat_frames = asyncio.run(scenario())

    # then
    conversation_said = [
        (2, "text", buyer.pk, "Hello Pat, the logo?"),
        (3, "text", provider.pk, "Draft by Friday, Bea."),
    ]
    assert [said(message) for message in of_type(bea_frames, "message")] == conversation_said
    assert [said(message) for message in of_type(pat_frames, "message")] == conversation_said
    assert of_type(bea_frames, "ack") == [
        {"type": "ack", "conversation": conversation, "client_id": bea_says, "seq": 2}
    ]
    assert of_type(pat_frames, "ack") == [
        {"type": "ack", "conversation": conversation, "client_id": pat_says, "seq": 3}
    ]
    assert of_type(pat_frames, "message")[0]["sender"] == {"id": buyer.pk, "name": "Bea Buyer"}
    events = list(Event.objects.filter(conversation_id=conversation).order_by("seq"))
    assert [(event.seq, event.sender_id) for event in events] == [
        (1, None),
        (2, buyer.pk),
        (3, provider.pk),
    ]
    assert [message["hash"] for message in of_type(bea_frames, "message")] == [
        events[1].hash,
        events[2].hash,
    ]


def test_a_dropped_client_catches_up_exactly_once_in_order_then_goes_live(
    daphne_server: LiveServer,
) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    missed = [f"While you were away, note {n}" for n in range(1, 6)]

    async def scenario() -> tuple[Frame, list[Frame], list[Frame], list[Frame]]:
        async with chat_socket(daphne_server, session_id=pat.session_id) as pat_socket:
            await pat_socket.subscribe(conversation)
            async with chat_socket(daphne_server, session_id=bea.session_id) as first_socket:
                await first_socket.subscribe(conversation)
                await pat_socket.say(conversation, "Before the drop")
                held, _ = await first_socket.receive_until("message")

                # when: the connection is lost, and Pat goes on writing
                first_socket.drop()
                for body in missed:
                    await pat_socket.say(conversation, body)

            async with chat_socket(daphne_server, session_id=bea.session_id) as second_socket:
                subscribed, replay = await second_socket.subscribe(conversation, after=held["seq"])
                await pat_socket.say(conversation, "Live again")
                live = await second_socket.collect(lambda frames: len(seqs_seen(frames)) == 1)
                trailing = await second_socket.sync()
        return held, [*replay, subscribed], live, trailing

    held, replay, live, trailing = asyncio.run(scenario())

    # then
    assert held["seq"] == 2
    assert [frame["type"] for frame in replay] == ["history", "subscribed"]
    assert replay[-1] == {
        "type": "subscribed",
        "conversation": conversation,
        "head": 7,
        "checkpoint": None,
    }
    assert [said(message) for message in history_messages(replay)] == [
        (seq, "text", provider.pk, body) for seq, body in zip(range(3, 8), missed, strict=True)
    ]
    assert replay[0]["more"] is False
    assert [said(message) for message in of_type(live, "message")] == [
        (8, "text", provider.pk, "Live again")
    ]
    assert of_type(trailing, "message") == []
    assert of_type(trailing, "history") == []


def test_a_send_repeated_after_reconnect_gets_the_first_seq_and_creates_nothing(
    daphne_server: LiveServer,
) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    client_id = str(uuid.uuid4())

    async def scenario() -> tuple[Frame, Frame, list[Frame], list[Frame], list[Frame]]:
        async with chat_socket(daphne_server, session_id=pat.session_id) as pat_socket:
            await pat_socket.subscribe(conversation)
            async with chat_socket(daphne_server, session_id=bea.session_id) as first_socket:
                first_ack, _ = await first_socket.say(
                    conversation, "Invoice next week?", client_id=client_id
                )
                first_socket.drop()
            pat_saw = await pat_socket.collect(lambda frames: seqs_seen(frames) == [2])

            # when: the client did not trust the send and repeats it on a new socket
            async with chat_socket(daphne_server, session_id=bea.session_id) as second_socket:
                _, replay = await second_socket.subscribe(conversation, after=2)
                repeat_ack, before = await second_socket.say(
                    conversation, "Invoice next week?", client_id=client_id
                )
                bea_after = before + await second_socket.sync()
            pat_after = await pat_socket.sync()
        return first_ack, repeat_ack, replay, bea_after, pat_saw + pat_after

    first_ack, repeat_ack, replay, bea_after, pat_frames = asyncio.run(scenario())

    # then
    assert first_ack == {
        "type": "ack",
        "conversation": conversation,
        "client_id": client_id,
        "seq": 2,
    }
    assert repeat_ack == first_ack
    assert history_messages(replay) == []
    assert of_type(bea_after, "message") == []
    assert seqs_seen(pat_frames) == [2]
    assert list(
        Event.objects.filter(conversation_id=conversation)
        .order_by("seq")
        .values_list("seq", "client_id")
    ) == [(1, None), (2, uuid.UUID(client_id))]
    assert Conversation.objects.get(pk=conversation).head_seq == 2


@pytest.mark.parametrize("session_id", [None, "no-such-session"], ids=["no-cookie", "bad-cookie"])
def test_a_socket_without_a_session_is_closed_with_4401(
    daphne_server: LiveServer, session_id: str | None
) -> None:
    # given
    UserFactory(username="bea")

    async def scenario() -> tuple[int, list[Frame]]:
        async with chat_socket(daphne_server, session_id=session_id) as socket:
            # when
            with contextlib.suppress(ConnectionClosed):
                await socket.send({"type": "ping"})
            return await socket.until_closed()

    code, frames = asyncio.run(scenario())

    # then
    assert code == 4401
    assert frames == []
    assert Connection.objects.count() == 0


@pytest.fixture
def server_without_room(transactional_db: None) -> Iterator[LiveServer]:
    """A server that sets up no socket at a time: every socket meets admission control."""
    yield from running_daphne(extra_env={"CHATBOX_CONNECTS_SETTING_UP": "0"})


def test_a_socket_the_process_has_no_room_to_set_up_is_told_4503_at_once(
    server_without_room: LiveServer,
) -> None:
    # given a signed-in user
    [session] = sign_in(server_without_room, UserFactory(username="bea"))

    async def scenario() -> tuple[int, list[Frame]]:
        # when they open a socket to a process with no room to set it up
        async with chat_socket(server_without_room, session_id=session.session_id) as socket:
            return await socket.until_closed()

    code, frames = asyncio.run(scenario())

    # then daphne itself closes it with "try again later" (it refuses 1013 from an
    # application, and its checker would close the failed socket with 1011), set up nothing
    assert (code, frames) == (CLOSE_TRY_AGAIN_LATER, [])
    assert Connection.objects.count() == 0


def test_a_foreign_origin_is_refused_before_the_socket_opens(daphne_server: LiveServer) -> None:
    # given
    buyer, _, conversation = two_people()
    (bea,) = sign_in(daphne_server, buyer)

    async def from_origin(origin: str) -> None:
        await open_socket(daphne_server, session_id=bea.session_id, origin=origin)

    async def from_the_app() -> Frame:
        async with chat_socket(daphne_server, session_id=bea.session_id) as socket:
            subscribed, _ = await socket.subscribe(conversation)
        return subscribed

    # when
    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(from_origin("https://evil.example"))

    # then
    assert refused.value.response.status_code == 403
    assert Connection.objects.count() == 0
    # the same session from the app's own origin is let in
    assert asyncio.run(from_the_app()) == {
        "type": "subscribed",
        "conversation": conversation,
        "head": 1,
        "checkpoint": None,
    }


def test_a_frame_over_64_kib_is_refused_with_too_large_and_the_socket_lives_on(
    daphne_server: LiveServer,
) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    huge = send_frame(conversation, "x" * FRAME_OVER_CONSUMER_LIMIT)

    async def scenario() -> tuple[Frame, list[Frame], list[Frame], Frame]:
        async with (
            chat_socket(daphne_server, session_id=bea.session_id) as bea_socket,
            chat_socket(daphne_server, session_id=pat.session_id) as pat_socket,
        ):
            await bea_socket.subscribe(conversation)
            await pat_socket.subscribe(conversation)

            # when
            await bea_socket.send(huge)
            refusal, before = await bea_socket.receive_until("error")
            still_there = before + await bea_socket.sync()
            pat_frames = await pat_socket.sync()
            ack, _ = await bea_socket.say(conversation, "A short one")
        return refusal, still_there, pat_frames, ack

    refusal, bea_frames, pat_frames, ack = asyncio.run(scenario())

    # then
    assert refusal == {
        "type": "error",
        "code": "too_large",
        "message": "A frame holds at most 65536 bytes.",
        "ref": None,
    }
    assert of_type(bea_frames, "message") == []
    assert of_type(pat_frames, "message") == []
    assert ack["seq"] == 2
    assert list(
        Event.objects.filter(conversation_id=conversation).values_list("seq", flat=True)
    ) == [1, 2]


def test_a_frame_over_the_transport_limit_closes_only_that_socket(
    daphne_server: LiveServer,
) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    enormous = send_frame(conversation, "x" * FRAME_OVER_TRANSPORT_LIMIT)

    async def scenario() -> tuple[list[Frame], Frame, Frame]:
        async with (
            chat_socket(daphne_server, session_id=pat.session_id) as pat_socket,
            chat_socket(daphne_server, session_id=bea.session_id) as bea_socket,
        ):
            await pat_socket.subscribe(conversation)
            await bea_socket.subscribe(conversation)

            # when
            with contextlib.suppress(ConnectionClosed):  # the server may cut the upload short
                await bea_socket.send(enormous)
            _, frames_before_close = await bea_socket.until_closed()

            # then the server serves the others, and the sender on a new socket
            pat_ack, _ = await pat_socket.say(conversation, "Still here")
        async with chat_socket(daphne_server, session_id=bea.session_id) as bea_again:
            subscribed, _ = await bea_again.subscribe(conversation)
        return frames_before_close, pat_ack, subscribed

    frames_before_close, pat_ack, subscribed = asyncio.run(scenario())

    # then
    assert of_type(frames_before_close, "ack") == []
    assert pat_ack["seq"] == 2
    assert subscribed == {
        "type": "subscribed",
        "conversation": conversation,
        "head": 2,
        "checkpoint": None,
    }
    assert list(
        Event.objects.filter(conversation_id=conversation).values_list("seq", "sender_id")
    ) == [(1, None), (2, provider.pk)]
    assert daphne_server.process.poll() is None


def test_a_frame_over_the_transport_limit_is_closed_with_1009(daphne_server: LiveServer) -> None:
    # given
    buyer, _, conversation = two_people()
    (bea,) = sign_in(daphne_server, buyer)
    enormous = send_frame(conversation, "x" * FRAME_OVER_TRANSPORT_LIMIT)

    async def scenario() -> int:
        async with chat_socket(daphne_server, session_id=bea.session_id) as socket:
            await socket.subscribe(conversation)
            # when
            with contextlib.suppress(ConnectionClosed):
                await socket.send(enormous)
            code, _ = await socket.until_closed()
        return code

    code = asyncio.run(scenario())

    # then
    assert code == 1009


def test_logout_through_the_api_closes_the_users_socket(daphne_server: LiveServer) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea, pat = sign_in(daphne_server, buyer, provider)
    old_session = bea.session_id

    async def scenario() -> tuple[int, list[Frame], int, Frame]:
        async with (
            chat_socket(daphne_server, session_id=pat.session_id) as pat_socket,
            chat_socket(daphne_server, session_id=bea.session_id) as bea_socket,
        ):
            await pat_socket.subscribe(conversation)
            await bea_socket.subscribe(conversation)

            # when
            logout = await asyncio.to_thread(bea.post, "/api/auth/logout/")
            assert logout.status == 204
            code, frames = await bea_socket.until_closed()

            async with chat_socket(daphne_server, session_id=old_session) as stale_socket:
                stale_code, _ = await stale_socket.until_closed()
            pat_ack, _ = await pat_socket.say(conversation, "Bye for now")
        return code, frames, stale_code, pat_ack

    code, frames, stale_code, pat_ack = asyncio.run(scenario())

    # then
    assert code == 4401
    assert of_type(frames, "message") == []
    assert stale_code == 4401
    assert pat_ack["seq"] == 2
    assert settings.SESSION_COOKIE_NAME not in bea.cookies
