"""Group commit: many sends stored in one transaction (``services.messages_send``), each
checked and answered as ``message_send`` alone would."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.services import user_suspend
from chatbox import realtime, services
from chatbox.checkpoints import checkpoint_document
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Checkpoint, ContactAttempt, Conversation, Event, Participant
from chatbox.presenters import messages_present
from chatbox.services import SendRequest, messages_send
from tests.chatbox.evidence_helpers import append_many
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db


def request(conversation: Conversation | str, sender: User, body: str = "hello") -> SendRequest:
    conversation_id = conversation if isinstance(conversation, str) else conversation.pk
    return SendRequest(
        conversation_id=conversation_id, sender=sender, client_id=uuid.uuid4(), body=body
    )


def codes(results: list[Event | Exception]) -> list[str | int]:
    """Each result as the seq it was stored at, or the code of the error that refused it."""
    return [
        result.code if isinstance(result, ApplicationError) else result.seq  # type: ignore[union-attr]
        for result in results
    ]


def test_a_batch_answers_each_send_in_order_and_stores_only_the_accepted(
    conversation: Conversation, buyer: User, provider: User, outsider: User
) -> None:
    # given a second conversation, a closed one and a suspended member
    other = conversation_between(buyer, provider, title="Website")
    closed = conversation_between(buyer, provider, title="Old job")
    Conversation.objects.filter(pk=closed.pk).update(closed_at=timezone.now())
    suspended = UserFactory(username="suspended")
    Participant.objects.create(conversation=other, user=suspended, role="provider")
    user_suspend(user=suspended, until=None)
    repeated = request(conversation, provider, "first try")
    stored_before = services.message_send(
        conversation_id=conversation.pk,
        sender=provider,
        client_id=repeated.client_id,
        body=repeated.body,
    )

    # when one batch holds good sends to two conversations and every kind of refusal
    results = messages_send(
        requests=[
            request(conversation, buyer, "one"),
            request(other, provider, "two"),
            request(conversation, buyer, "   "),
            request(str(uuid.uuid4()), buyer),
            request("not-a-uuid", buyer),
            request(conversation, outsider),
            repeated,
            request(other, suspended),
            request(closed, buyer),
            request(conversation, provider, "three"),
        ]
    )

    # then each is answered in place, and only the three good ones were stored, in order
    assert codes(results) == [
        3,
        2,
        ErrorCode.INVALID_FRAME,
        ErrorCode.NOT_FOUND,
        ErrorCode.NOT_FOUND,
        ErrorCode.NOT_MEMBER,
        stored_before.seq,
        ErrorCode.SUSPENDED,
        ErrorCode.CLOSED,
        4,
    ]
    assert results[6].pk == stored_before.pk  # type: ignore[union-attr]
    assert list(conversation.events.order_by("seq").values_list("seq", "sender_id")) == [
        (1, None),
        (2, provider.pk),
        (3, buyer.pk),
        (4, provider.pk),
    ]
    assert list(other.events.values_list("seq", "sender_id")) == [(1, None), (2, provider.pk)]
    assert closed.events.count() == 1
    # and the chains hold, the heads moved, each sender has read their own message
    for each in (conversation, other):
        assert services.conversation_chain_verify(conversation_id=each.pk).ok
    conversation.refresh_from_db()
    assert (conversation.head_seq, conversation.head_hash) == (4, conversation.events.last().hash)
    marks = dict(conversation.participants.values_list("user_id", "last_read_seq"))
    assert marks == {buyer.pk: 3, provider.pk: 4}


def test_the_same_client_id_twice_in_one_batch_is_stored_once(
    conversation: Conversation, buyer: User
) -> None:
    # given one send, retried before its first attempt was answered
    first = request(conversation, buyer, "once")
    retry = SendRequest(
        conversation_id=conversation.pk, sender=buyer, client_id=first.client_id, body="again"
    )
    # when both land in one batch
    results = messages_send(requests=[first, retry])
    # then both are answered with the one stored event
    assert codes(results) == [2, 2]
    assert conversation.events.filter(client_id=first.client_id).count() == 1


def test_a_batch_signs_the_checkpoint_due_in_its_middle(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given a conversation two events short of its 100th
    append_many(conversation, [buyer, provider], 97)
    # when one batch takes it from seq 98 to seq 102
    messages_send(requests=[request(conversation, buyer, f"m{n}") for n in range(4)])
    # then seq 100 is signed, with the chain's hash at 100
    [checkpoint] = Checkpoint.objects.filter(conversation=conversation)
    assert (checkpoint.seq, checkpoint.head) == (100, conversation.events.get(seq=100).hash)
    assert checkpoint_document(checkpoint)["sig"]


def test_a_batch_notes_contact_details_it_hides(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # when a batch carries one message with an e-mail address before any contract is funded
    messages_send(
        requests=[
            request(conversation, buyer, "mail me at bea@example.com"),
            request(conversation, provider, "sure"),
        ]
    )
    # then one contact attempt is noted, for the buyer, with the kind only
    assert list(ContactAttempt.objects.values_list("user_id", "kinds", "sent")) == [
        (buyer.pk, ["email"], True)
    ]


@pytest.mark.django_db(transaction=True)
async def test_the_live_frame_a_batch_makes_equals_what_a_later_read_shows(
    conversation: Conversation, buyer: User
) -> None:
    # given a listener on the conversation's group
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)  # a layer of this test's loop
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(realtime.conversation_group(conversation.pk), listener)
    # when a new, unverified buyer sends a masked phone number and asks for free work
    body = "Call me on +44 20 7946 0958, and do a free sample first"
    [event] = await database_sync_to_async(messages_send)(
        requests=[request(conversation, buyer, body)]
    )
    notice = await asyncio.wait_for(layer.receive(listener), timeout=5)
    # then the notice's one frame is the stored event exactly as messages_present shows it
    assert isinstance(event, Event)
    [shown] = await database_sync_to_async(messages_present)(
        conversation_id=conversation.pk, events=[event]
    )
    assert [json.loads(frame) for frame in realtime.notice_frames(notice) or []] == [
        {"type": "message", **shown}
    ]
    assert shown["redactions"] and shown["data"]["cautions"]
    await layer.group_discard(realtime.conversation_group(conversation.pk), listener)
    if hasattr(layer, "close_pools"):
        await layer.close_pools()
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one statement per batch is PostgreSQL's path"
)
def test_the_statements_of_a_batch_do_not_grow_with_its_size(buyer: User, provider: User) -> None:
    # given ten conversations
    conversations = [conversation_between(buyer, provider, title=f"job {n}") for n in range(10)]

    def statements(batch: list[SendRequest]) -> int:
        with CaptureQueriesContext(connection) as captured:
            results = messages_send(requests=batch)
        assert all(isinstance(result, Event) for result in results)
        return len(captured.captured_queries)

    # when one batch stores one message and another twenty, across all ten
    one = statements([request(conversations[0], buyer)])
    twenty = statements([request(c, sender) for c in conversations for sender in (buyer, provider)])
    # then both took the same number of statements
    assert twenty == one
