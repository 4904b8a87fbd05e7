"""Races, run for real: threads with their own database connections, and two daphne processes.

``select_for_update`` does nothing on SQLite, so the thread races run in the PostgreSQL pass
(``make pytest-services``). The race through two servers runs on both databases: SQLite's
IMMEDIATE transactions and PostgreSQL's row lock must each keep ``seq`` gapless.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection

from chatbox.canonical import GENESIS_PREV
from chatbox.models import Conversation, Event, Participant
from chatbox.services import (
    ChainVerdict,
    conversation_chain_verify,
    data_keys,
    event_payload,
    message_send,
)
from projects.models import Engagement
from projects.services import engagement_open, project_create
from tests.factories import PASSWORD, UserFactory, conversation_between
from tests.live import Frame, LiveServer, api_login, chat_socket, running_daphnes
from tests.services import require_postgres

T = TypeVar("T")

BARRIER_TIMEOUT = 10


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0)`` … ``work(count - 1)`` in ``count`` threads released together; each
    thread has its own database connection (Django opens one per thread) and closes it."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))  # re-raises the first thread's error


def assert_chain_linked(conversation_id: uuid.UUID, events: int) -> list[Event]:
    """The conversation holds events 1..``events``, each naming the one before; returns them."""
    stored = list(Event.objects.filter(conversation_id=conversation_id).order_by("seq"))
    assert [event.seq for event in stored] == list(range(1, events + 1))
    assert [event.prev for event in stored] == [GENESIS_PREV] + [e.hash for e in stored[:-1]]
    assert conversation_chain_verify(conversation_id=conversation_id) == ChainVerdict(
        ok=True, events=events
    )
    head = Conversation.objects.get(pk=conversation_id)
    assert (head.head_seq, head.head_hash) == (events, stored[-1].hash)
    return stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_keep_seq_gapless_and_the_chain_linked() -> None:
    require_postgres()
    # given
    buyer, provider = UserFactory(), UserFactory()
    conversation = conversation_between(buyer, provider)
    threads, per_thread = 8, 25

    def send_all(index: int) -> list[tuple[int, str]]:
        sender = (buyer, provider)[index % 2]
        sent = []
        for n in range(per_thread):
            body = f"thread {index}, message {n}"
            event = message_send(
                conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
            )
            sent.append((event.seq, body))
        return sent

    # when
    sent_by_thread = all_at_once(threads, send_all)

    # then
    total = 1 + threads * per_thread
    stored = assert_chain_linked(conversation.pk, total)
    sent = {seq: body for thread in sent_by_thread for seq, body in thread}
    assert sorted(sent) == list(range(2, total + 1))
    # one thread's sends are stored in the order it made them
    assert all(
        [seq for seq, _ in thread] == sorted(seq for seq, _ in thread) for thread in sent_by_thread
    )
    keys = data_keys(conversation_id=conversation.pk)
    assert {
        event.seq: event_payload(event=event, keys=keys)["body"] for event in stored[1:]
    } == sent
    assert [event.kind for event in stored] == ["system"] + ["text"] * (threads * per_thread)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_client_id_sent_from_several_threads_at_once_is_stored_once() -> None:
    require_postgres()
    # given
    buyer, provider = UserFactory(), UserFactory()
    conversation = conversation_between(buyer, provider)
    client_id = uuid.uuid4()

    # when
    seqs = all_at_once(
        6,
        lambda _: (
            message_send(
                conversation_id=conversation.pk, sender=buyer, client_id=client_id, body="Deal?"
            ).seq
        ),
    )

    # then
    assert seqs == [2] * 6
    assert list(Event.objects.filter(client_id=client_id).values_list("seq", flat=True)) == [2]
    assert_chain_linked(conversation.pk, 2)
    assert Participant.objects.get(conversation=conversation, user=buyer).last_read_seq == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_engagements_opened_at_the_same_moment_give_one_engagement_and_one_conversation() -> None:
    require_postgres()
    # given
    buyer, provider = UserFactory(), UserFactory()
    project = project_create(buyer=buyer, title="Bakery logo")

    # when
    engagement_ids = all_at_once(
        4, lambda _: engagement_open(project=project, provider=provider).pk
    )

    # then
    engagement = Engagement.objects.get()
    assert engagement_ids == [engagement.pk] * 4
    assert (engagement.project_id, engagement.buyer_id, engagement.provider_id) == (
        project.pk,
        buyer.pk,
        provider.pk,
    )
    assert list(Conversation.objects.values_list("pk", flat=True)) == [engagement.conversation_id]
    assert sorted(Participant.objects.values_list("user_id", "role").order_by("user_id")) == sorted(
        [(buyer.pk, Participant.Role.BUYER), (provider.pk, Participant.Role.PROVIDER)]
    )
    assert list(Event.objects.values_list("conversation_id", "seq")) == [
        (engagement.conversation_id, 1)
    ]


# -- through real servers, on SQLite and on PostgreSQL ----------------------------------------


@pytest.fixture
def two_servers(transactional_db: None) -> Iterator[list[LiveServer]]:
    """Two daphne processes on the test database (and on Redis in the services pass); the
    send budget is lifted so that the race, not the rate limit, is what the test sees."""
    yield from running_daphnes(2, extra_env={"CHATBOX_SEND_RATE": "1000/10"})


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_sends_racing_through_two_servers_keep_seq_gapless(two_servers: list[LiveServer]) -> None:
    # given
    a, b = two_servers
    buyer = UserFactory(username="bea")
    provider = UserFactory(username="pat")
    conversation = conversation_between(buyer, provider)
    senders = [(a, "bea"), (b, "pat"), (b, "bea"), (a, "pat")]
    sessions = [api_login(server, username, PASSWORD) for server, username in senders]
    per_socket = 15

    async def send_burst(session_id: str, server: LiveServer) -> tuple[list[str], list[Frame]]:
        async with chat_socket(server, session_id=session_id) as socket:
            client_ids = [str(uuid.uuid4()) for _ in range(per_socket)]
            for n, client_id in enumerate(client_ids):
                await socket.send(
                    {
                        "type": "send",
                        "conversation": str(conversation.pk),
                        "client_id": client_id,
                        "body": f"burst message {n}",
                    }
                )
            frames = await socket.collect(lambda frames: len(frames) == per_socket, timeout=20)
        return client_ids, frames

    async def scenario() -> list[tuple[list[str], list[Frame]]]:
        return await asyncio.gather(
            *(send_burst(session.session_id, session.server) for session in sessions)
        )

    # when
    bursts = asyncio.run(scenario())

    # then
    total = 1 + len(senders) * per_socket
    for client_ids, frames in bursts:
        assert [frame["type"] for frame in frames] == ["ack"] * per_socket
        assert [frame["client_id"] for frame in frames] == client_ids
        seqs = [frame["seq"] for frame in frames]
        assert seqs == sorted(seqs)
    acked = sorted(frame["seq"] for _, frames in bursts for frame in frames)
    assert acked == list(range(2, total + 1))
    assert_chain_linked(conversation.pk, total)
