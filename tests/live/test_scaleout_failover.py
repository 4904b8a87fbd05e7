"""Scaled out under load and through a failure: two daphne processes on one database and one
Redis (docs/deployment.md).

A burst written from both servers at once reaches both sides whole; then a server stops while
a client on it is still sending, and the client, reconnected to the other server, finds every
message it was told was stored, and can send the rest again without making duplicates.

The servers take far more than the product's 20 sends per 10 s per user (CHATBOX_SEND_RATE):
a burst of hundreds from one user is a load test, not a person; the limit has tests of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from chatbox.models import Event
from tests.live import Frame, LiveServer, open_socket, running_daphnes
from tests.live.cluster import FrameLog, frame_log, send_frame
from tests.live.test_redis_scaleout import two_people
from tests.services import require_redis

pytestmark = [pytest.mark.live, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Messages each side writes in the burst: 200 in all.
BURST = 100
# What the client on the stopping server has queued up when the server stops.
OUTBOX = 60
# Acks the client has when its server is stopped; it then holds the rest of its outbox back.
ACKED_BEFORE_STOP = 10
# Sends the client keeps waiting for their ack, as a client with a send window does: these are
# on their way, stored or not, when the server stops.
IN_FLIGHT = 5
# Hundreds of messages, each stored in its own transaction and announced on both servers.
BURST_TIMEOUT = 60.0


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[list[LiveServer]]:
    """Servers A and B on one Redis, under a key prefix of their own."""
    redis_url = require_redis()
    yield from running_daphnes(
        2,
        extra_env={
            "REDIS_URL": redis_url,
            "KEY_PREFIX": f"failover-{uuid.uuid4().hex}",
            "CHATBOX_SEND_RATE": "100000/10",
        },
    )


def outbox(conversation: str, who: str, count: int) -> list[Frame]:
    return [
        send_frame(conversation, str(uuid.uuid4()), f"{who} {n} of {count}") for n in range(count)
    ]


async def subscribed(log: FrameLog, conversation: str, *, after: int = 0) -> Frame:
    """Subscribe and wait for ``subscribed``; returns it."""
    await log.send({"type": "subscribe", "conversation": conversation, "after": after})
    await log.wait_until(
        "subscribed", lambda frames: any(f["type"] == "subscribed" for f in frames)
    )
    return log.of_type("subscribed")[-1]


async def write_all(log: FrameLog, frames: list[Frame]) -> None:
    """Send every frame without waiting for an answer, as a client with a full outbox does."""
    for frame in frames:
        await log.send(frame)


async def write_paced(log: FrameLog, frames: list[Frame], *, until_acks: int) -> None:
    """Send ``frames`` keeping at most IN_FLIGHT of them waiting for their ack, and stop
    sending once ``until_acks`` of them are acknowledged."""
    for sent, frame in enumerate(frames):
        await log.wait_until(
            f"fewer than {IN_FLIGHT} sends waiting",
            lambda _, sent=sent: sent - len(log.acks()) < IN_FLIGHT,
            timeout=BURST_TIMEOUT,
        )
        if len(log.acks()) >= until_acks:
            return
        await log.send(frame)


async def acked(log: FrameLog, client_ids: list[str]) -> dict[str, int]:
    """Wait until ``log`` has an ack for each of ``client_ids``; returns client_id → seq."""
    await log.wait_until(
        f"acks for {len(client_ids)} sends",
        lambda _: set(client_ids) <= {ack["client_id"] for ack in log.of_type("ack")},
        timeout=BURST_TIMEOUT,
    )
    return log.acks()


async def settled(log: FrameLog, *, head: int) -> None:
    """Wait until ``log`` has every event up to ``head``, then for the answer to a ping:
    whatever the server still had for this socket (a duplicate, say) came before it."""
    await log.wait_until(
        f"every event up to {head}",
        lambda _: any(message["seq"] >= head for message in log.messages()),
        timeout=BURST_TIMEOUT,
    )
    pongs = len(log.of_type("pong"))
    await log.send({"type": "ping"})
    await log.wait_until("pong", lambda _: len(log.of_type("pong")) > pongs)


def seqs(messages: list[Frame]) -> list[int]:
    return [message["seq"] for message in messages]


def stored(conversation: str) -> list[tuple[int, str | None, int | None]]:
    """What the database holds: (seq, client_id, sender id) of every event, in seq order."""
    return [
        (seq, str(client_id) if client_id else None, sender_id)
        for seq, client_id, sender_id in Event.objects.filter(conversation_id=conversation)
        .order_by("seq")
        .values_list("seq", "client_id", "sender_id")
    ]


def test_a_burst_from_both_servers_reaches_both_sides_once_each_in_seq_order(
    two_servers: list[LiveServer],
) -> None:
    # given
    a, b = two_servers
    buyer, provider, conversation, bea, pat = two_people(a, b)
    bea_outbox = outbox(conversation, "Bea", BURST)
    pat_outbox = outbox(conversation, "Pat", BURST)

    async def scenario() -> tuple[int, FrameLog, FrameLog]:
        async with (
            frame_log(await open_socket(a, session_id=bea.session_id)) as bea_on_a,
            frame_log(await open_socket(b, session_id=pat.session_id)) as pat_on_b,
        ):
            head = (await subscribed(bea_on_a, conversation))["head"]
            await subscribed(pat_on_b, conversation)

            # when: both write their whole outbox at once, each to their own server
            await asyncio.gather(write_all(bea_on_a, bea_outbox), write_all(pat_on_b, pat_outbox))

            await acked(bea_on_a, [frame["client_id"] for frame in bea_outbox])
            await acked(pat_on_b, [frame["client_id"] for frame in pat_outbox])
            final = head + 2 * BURST
            await asyncio.gather(settled(bea_on_a, head=final), settled(pat_on_b, head=final))
        return head, bea_on_a, pat_on_b

    head, bea_on_a, pat_on_b = asyncio.run(scenario())

    # then
    final = head + 2 * BURST
    bea_acks, pat_acks = bea_on_a.acks(), pat_on_b.acks()
    assert set(bea_acks) == {frame["client_id"] for frame in bea_outbox}
    assert set(pat_acks) == {frame["client_id"] for frame in pat_outbox}
    # every send took its own seq, and together they fill head+1..final
    assert sorted([*bea_acks.values(), *pat_acks.values()]) == list(range(head + 1, final + 1))

    written = {
        frame["client_id"]: (sender.pk, frame["body"])
        for sender, box in ((buyer, bea_outbox), (provider, pat_outbox))
        for frame in box
    }
    ack_seqs = {**bea_acks, **pat_acks}
    for log in (bea_on_a, pat_on_b):
        assert log.of_type("error") == []
        messages = log.messages()
        # each event once, in seq order, with no gap (1..head came as history)
        assert seqs(messages) == list(range(1, final + 1))
        burst = [message for message in messages if message["seq"] > head]
        assert {
            message["client_id"]: (message["sender"]["id"], message["body"]) for message in burst
        } == written
        assert all(message["seq"] == ack_seqs[message["client_id"]] for message in burst)
        # one chain, seen the same on both servers
        assert all(
            later["prev"] == earlier["hash"] for earlier, later in itertools.pairwise(messages)
        )
        # each person's messages keep the order they were written in
        for box in (bea_outbox, pat_outbox):
            mine = {frame["client_id"] for frame in box}
            assert [m["client_id"] for m in burst if m["client_id"] in mine] == [
                frame["client_id"] for frame in box
            ]
    assert [m["hash"] for m in bea_on_a.messages()] == [m["hash"] for m in pat_on_b.messages()]

    events = stored(conversation)
    assert [seq for seq, _, _ in events] == list(range(1, final + 1))
    assert {client_id: seq for seq, client_id, _ in events if client_id} == ack_seqs


@pytest.mark.parametrize("stop", ["terminate", "kill"])
def test_a_stopping_server_loses_no_acknowledged_message(
    two_servers: list[LiveServer], stop: str
) -> None:
    # given: Bea on server A and Pat on server B in one conversation
    a, b = two_servers
    buyer, provider, conversation, bea, pat = two_people(a, b)
    bea_outbox = outbox(conversation, "Bea", OUTBOX)
    bea_ids = [frame["client_id"] for frame in bea_outbox]
    pat_while_bea_away = send_frame(conversation, str(uuid.uuid4()), "Are you still there?")

    async def scenario() -> tuple[int | None, FrameLog, Frame, FrameLog, FrameLog]:
        async with (
            frame_log(await open_socket(b, session_id=pat.session_id)) as pat_on_b,
            frame_log(await open_socket(a, session_id=bea.session_id)) as bea_on_a,
        ):
            await subscribed(pat_on_b, conversation)
            await subscribed(bea_on_a, conversation)

            # when: Bea writes her outbox, and server A stops once she has ACKED_BEFORE_STOP
            # acks, with up to IN_FLIGHT more sends on their way
            await write_paced(bea_on_a, bea_outbox, until_acks=ACKED_BEFORE_STOP)
            getattr(a.process, stop)()
            exit_code = await asyncio.to_thread(a.process.wait, 10)
            await bea_on_a.wait_closed()

            # Pat, on B, says something while Bea is away
            await write_all(pat_on_b, [pat_while_bea_away])
            await acked(pat_on_b, [pat_while_bea_away["client_id"]])

            # Bea's client reconnects, to B, catches up from the last seq it holds, and sends
            # its outbox again with the same client_ids
            mark = max(seqs(bea_on_a.messages()))
            async with frame_log(await open_socket(b, session_id=bea.session_id)) as bea_on_b:
                back = await subscribed(bea_on_b, conversation, after=mark)
                await write_all(bea_on_b, bea_outbox)
                final = max([back["head"], *(await acked(bea_on_b, bea_ids)).values()])
                await asyncio.gather(settled(bea_on_b, head=final), settled(pat_on_b, head=final))
        return exit_code, bea_on_a, back, bea_on_b, pat_on_b

    exit_code, bea_on_a, back, bea_on_b, pat_on_b = asyncio.run(scenario())

    # then: A really went away before Bea's outbox was through
    assert exit_code is not None
    if stop == "kill":
        assert exit_code == -9
    acked_on_a = bea_on_a.acks()
    assert ACKED_BEFORE_STOP <= len(acked_on_a) < ACKED_BEFORE_STOP + IN_FLIGHT

    # what Bea held before the stop: gapless from 1 to her mark
    seen_on_a = bea_on_a.messages()
    mark = seqs(seen_on_a)[-1]
    assert seqs(seen_on_a) == list(range(1, mark + 1))
    # the catch-up on B: everything after the mark, up to the head of that moment
    caught_up = [
        message
        for frame in bea_on_b.frames[: bea_on_b.frames.index(back)]
        if frame["type"] == "history"
        for message in frame["messages"]
    ]
    assert seqs(caught_up) == list(range(mark + 1, back["head"] + 1))
    # every message A acknowledged is there, once, at the seq of its ack
    held_after_catch_up = Counter(message["client_id"] for message in seen_on_a + caught_up)
    by_client_id = {message["client_id"]: message for message in seen_on_a + caught_up}
    for client_id, seq in acked_on_a.items():
        assert held_after_catch_up[client_id] == 1
        assert by_client_id[client_id]["seq"] == seq
        assert by_client_id[client_id]["sender"]["id"] == buyer.pk

    # sending the outbox again: a stored message is acknowledged with its first seq, the rest
    # is stored once
    acked_on_b = bea_on_b.acks()
    assert set(acked_on_b) == set(bea_ids)
    assert all(acked_on_b[client_id] == seq for client_id, seq in acked_on_a.items())
    stored_before_reconnect = {
        m["client_id"]: m["seq"] for m in caught_up if m["client_id"] in set(bea_ids)
    }
    assert all(acked_on_b[client_id] == seq for client_id, seq in stored_before_reconnect.items())

    events = stored(conversation)
    final = len(events)
    assert [seq for seq, _, _ in events] == list(range(1, final + 1))
    bea_stored = [client_id for _, client_id, sender_id in events if sender_id == buyer.pk]
    # each message of the outbox stored exactly once, in the order Bea wrote them
    assert bea_stored == bea_ids
    assert [cid for _, cid, sender in events if sender == provider.pk] == [
        pat_while_bea_away["client_id"]
    ]
    assert {client_id: seq for seq, client_id, _ in events if client_id in acked_on_b} == acked_on_b

    # both clients end up with the whole conversation, each event once, in seq order
    assert seqs(seen_on_a + bea_on_b.messages()) == list(range(1, final + 1))
    assert seqs(pat_on_b.messages()) == list(range(1, final + 1))
    assert bea_on_b.of_type("error") == []
    assert pat_on_b.of_type("error") == []
