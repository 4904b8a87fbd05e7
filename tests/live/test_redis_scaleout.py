"""Scaled out: two daphne processes share the database and a Redis channel layer.

A client on server A and a client on server B are in one conversation; what one does reaches
the other only through Redis, since each process has its own consumers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from accounts.models import User
from tests.factories import PASSWORD, UserFactory, conversation_between
from tests.live import (
    ApiSession,
    Frame,
    LiveServer,
    api_login,
    chat_socket,
    running_daphnes,
)
from tests.services import require_redis

pytestmark = [pytest.mark.live, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[list[LiveServer]]:
    """Servers A and B on one Redis, under a key prefix of their own."""
    redis_url = require_redis()
    yield from running_daphnes(
        2, extra_env={"REDIS_URL": redis_url, "KEY_PREFIX": f"scaleout-{uuid.uuid4().hex}"}
    )


def of_type(frames: list[Frame], frame_type: str) -> list[Frame]:
    return [frame for frame in frames if frame["type"] == frame_type]


def two_people(a: LiveServer, b: LiveServer) -> tuple[User, User, str, ApiSession, ApiSession]:
    """Bea signs in on server A, Pat on server B (a session is valid on every server)."""
    buyer = UserFactory(username="bea", display_name="Bea Buyer")
    provider = UserFactory(username="pat", display_name="Pat Provider")
    conversation = str(conversation_between(buyer, provider).pk)
    return (
        buyer,
        provider,
        conversation,
        api_login(a, "bea", PASSWORD),
        api_login(b, "pat", PASSWORD),
    )


def test_messages_cross_between_servers_both_ways(
    two_servers: list[LiveServer],
) -> None:
    # given
    a, b = two_servers
    buyer, provider, conversation, bea, pat = two_people(a, b)

    async def scenario() -> tuple[Frame, Frame, Frame, Frame]:
        async with (
            chat_socket(a, session_id=bea.session_id) as bea_on_a,
            chat_socket(b, session_id=pat.session_id) as pat_on_b,
        ):
            await bea_on_a.subscribe(conversation)
            await pat_on_b.subscribe(conversation)

            # when
            bea_ack, _ = await bea_on_a.say(conversation, "Sent through A")
            pat_hears, _ = await pat_on_b.receive_until("message")
            pat_ack, _ = await pat_on_b.say(conversation, "Answered through B")
            bea_hears, _ = await bea_on_a.receive_until(
                "message", where=lambda frame: frame["seq"] == pat_ack["seq"]
            )
        return bea_ack, pat_hears, pat_ack, bea_hears

    bea_ack, pat_hears, pat_ack, bea_hears = asyncio.run(scenario())

    # then
    assert a.port != b.port
    assert a.process.pid != b.process.pid
    assert (bea_ack["seq"], pat_ack["seq"]) == (2, 3)
    assert (pat_hears["seq"], pat_hears["sender"], pat_hears["body"]) == (
        2,
        {"id": buyer.pk, "name": "Bea Buyer"},
        "Sent through A",
    )
    assert (bea_hears["seq"], bea_hears["sender"], bea_hears["body"]) == (
        3,
        {"id": provider.pk, "name": "Pat Provider"},
        "Answered through B",
    )
    assert bea_hears["prev"] == pat_hears["hash"]


def test_typing_and_read_receipts_cross_between_servers(
    two_servers: list[LiveServer],
) -> None:
    # given
    a, b = two_servers
    buyer, provider, conversation, bea, pat = two_people(a, b)

    async def scenario() -> tuple[Frame, Frame, list[Frame]]:
        async with (
            chat_socket(a, session_id=bea.session_id) as bea_on_a,
            chat_socket(b, session_id=pat.session_id) as pat_on_b,
        ):
            await bea_on_a.subscribe(conversation)
            await pat_on_b.subscribe(conversation)
            await pat_on_b.say(conversation, "Have a look at the draft")

            # when
            await pat_on_b.send({"type": "typing", "conversation": conversation})
            typing, _ = await bea_on_a.receive_until("typing")
            await bea_on_a.send({"type": "read", "conversation": conversation, "seq": 2})
            receipt, _ = await pat_on_b.receive_until(
                "read", where=lambda frame: frame["user"]["id"] == buyer.pk
            )
            pat_trailing = await pat_on_b.sync()
        return typing, receipt, pat_trailing

    typing, receipt, pat_trailing = asyncio.run(scenario())

    # then
    assert typing == {
        "type": "typing",
        "conversation": conversation,
        "user": {"id": provider.pk, "name": "Pat Provider"},
    }
    assert receipt == {
        "type": "read",
        "conversation": conversation,
        "user": {"id": buyer.pk},
        "seq": 2,
    }
    # the typist is not told of their own typing
    assert of_type(pat_trailing, "typing") == []


def test_presence_crosses_between_servers(two_servers: list[LiveServer]) -> None:
    # given
    a, b = two_servers
    _, provider, conversation, bea, pat = two_people(a, b)

    async def scenario() -> tuple[list[Frame], Frame, Frame]:
        async with chat_socket(a, session_id=bea.session_id) as bea_on_a:
            _, before = await bea_on_a.subscribe(conversation)
            nobody_else = await bea_on_a.sync()

            # when
            async with chat_socket(b, session_id=pat.session_id) as pat_on_b:
                online, _ = await bea_on_a.receive_until("presence")
                await pat_on_b.sync()
            offline, _ = await bea_on_a.receive_until("presence")
        return before + nobody_else, online, offline

    alone, online, offline = asyncio.run(scenario())

    # then
    assert of_type(alone, "presence") == []
    assert online == {"type": "presence", "user": {"id": provider.pk}, "online": True}
    assert offline == {"type": "presence", "user": {"id": provider.pk}, "online": False}
