"""The chatbox's write services, called directly."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import user_suspend
from chatbox import services
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Connection, Event, Participant
from chatbox.presenters import messages_present
from chatbox.selectors import conversation_summaries_for_user, events_after
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    return buyer, provider, conversation_between(buyer, provider)


def send(conversation, sender, body: str = "hello", client_id: uuid.UUID | None = None) -> Event:
    return services.message_send(
        conversation_id=conversation.pk,
        sender=sender,
        client_id=client_id or uuid.uuid4(),
        body=body,
    )


def presented(conversation) -> list[dict]:
    events = events_after(conversation_id=conversation.pk, after=0, limit=100)
    return messages_present(conversation_id=conversation.pk, events=events)


def test_conversation_opens_with_a_system_event(chat) -> None:
    _, _, conversation = chat
    [opened] = presented(conversation)
    assert (opened["seq"], opened["kind"], opened["sender"], opened["body"]) == (
        1,
        "system",
        None,
        "Conversation opened.",
    )


def test_repeated_client_id_returns_the_stored_event_and_creates_nothing(chat) -> None:
    # given
    buyer, _, conversation = chat
    client_id = uuid.uuid4()
    first = send(conversation, buyer, "once", client_id)
    # when the same client_id comes again, even with other text
    again = send(conversation, buyer, "twice?", client_id)
    # then
    assert again.pk == first.pk
    assert Event.objects.filter(conversation=conversation).count() == 2


def test_same_client_id_from_another_sender_is_a_new_message(chat) -> None:
    buyer, provider, conversation = chat
    client_id = uuid.uuid4()
    assert send(conversation, buyer, "a", client_id).seq == 2
    assert send(conversation, provider, "b", client_id).seq == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", ErrorCode.INVALID_FRAME),
        ("  \n\t ", ErrorCode.INVALID_FRAME),
        ("x" * 10_001, ErrorCode.TOO_LARGE),
    ],
)
def test_empty_or_too_long_bodies_are_refused_and_nothing_is_stored(chat, body, code) -> None:
    buyer, _, conversation = chat
    with pytest.raises(ApplicationError) as refused:
        send(conversation, buyer, body)
    assert refused.value.code == code
    assert Event.objects.filter(conversation=conversation).count() == 1


def test_a_body_of_exactly_the_limit_is_stored(chat) -> None:
    buyer, _, conversation = chat
    assert send(conversation, buyer, "x" * 10_000).seq == 2


def test_non_member_cannot_send(chat) -> None:
    _, _, conversation = chat
    with pytest.raises(ApplicationError) as refused:
        send(conversation, UserFactory(username="outsider"))
    assert refused.value.code == ErrorCode.NOT_MEMBER
    assert Event.objects.filter(conversation=conversation).count() == 1


def test_suspended_member_cannot_send_until_the_suspension_ends(chat) -> None:
    # given a suspension that ends in an hour
    buyer, _, conversation = chat
    user_suspend(user=buyer, until=timezone.now() + timedelta(hours=1))
    # when / then
    with pytest.raises(ApplicationError) as refused:
        send(conversation, buyer)
    assert refused.value.code == ErrorCode.SUSPENDED
    assert Event.objects.filter(conversation=conversation).count() == 1
    # and once it has ended, the member writes again
    user_suspend(user=buyer, until=timezone.now() - timedelta(seconds=1))
    assert send(conversation, buyer).seq == 2


def test_closed_conversation_takes_no_messages(chat) -> None:
    buyer, _, conversation = chat
    conversation.closed_at = timezone.now()
    conversation.save(update_fields=["closed_at"])
    with pytest.raises(ApplicationError) as refused:
        send(conversation, buyer)
    assert refused.value.code == ErrorCode.CLOSED


def test_edit_is_a_new_event_and_the_original_stays_in_the_record(chat) -> None:
    # given
    buyer, _, conversation = chat
    original = send(conversation, buyer, "price is 40")
    # when
    edit = services.message_edit(
        conversation_id=conversation.pk,
        editor=buyer,
        client_id=uuid.uuid4(),
        seq=original.seq,
        body="price is 45",
    )
    # then
    assert (edit.seq, edit.kind, edit.target_seq, edit.data) == (3, "edit", 2, {"target": 2})
    shown = {m["seq"]: m for m in presented(conversation)}
    assert shown[2]["body"] == "price is 45"
    assert shown[2]["data"]["edited"] is True
    assert shown[3]["body"] == "price is 45"
    assert services.conversation_chain_verify(conversation_id=conversation.pk).ok


def test_delete_hides_the_message_and_its_edits(chat) -> None:
    # given a message and an edit of it
    buyer, _, conversation = chat
    original = send(conversation, buyer, "my number is in here")
    services.message_edit(
        conversation_id=conversation.pk,
        editor=buyer,
        client_id=uuid.uuid4(),
        seq=original.seq,
        body="still in here",
    )
    # when
    deletion = services.message_delete(
        conversation_id=conversation.pk, by=buyer, client_id=uuid.uuid4(), seq=original.seq
    )
    # then what is shown is empty, and the record keeps all three events
    shown = {m["seq"]: m for m in presented(conversation)}
    assert (shown[2]["body"], shown[2]["html"], shown[2]["data"]) == ("", "", {"deleted": True})
    assert (shown[3]["body"], shown[3]["data"]) == ("", {"target": 2, "deleted": True})
    assert (deletion.kind, shown[4]["body"]) == ("delete", "")
    assert Event.objects.filter(conversation=conversation).count() == 4


@pytest.mark.parametrize(
    ("seq", "code"),
    [(2, ErrorCode.FORBIDDEN), (1, ErrorCode.FORBIDDEN), (99, ErrorCode.NOT_FOUND)],
    ids=["another members message", "a system event", "a missing seq"],
)
def test_only_ones_own_existing_text_can_be_edited(chat, seq, code) -> None:
    # given a message of the provider at seq 2 (seq 1 is the system event)
    buyer, provider, conversation = chat
    send(conversation, provider, "mine")
    # when the buyer tries to edit / then
    with pytest.raises(ApplicationError) as refused:
        services.message_edit(
            conversation_id=conversation.pk,
            editor=buyer,
            client_id=uuid.uuid4(),
            seq=seq,
            body="changed",
        )
    assert refused.value.code == code
    assert Event.objects.filter(conversation=conversation).count() == 2


def test_a_deleted_message_cannot_be_edited_or_deleted_again(chat) -> None:
    buyer, _, conversation = chat
    original = send(conversation, buyer, "gone soon")
    services.message_delete(
        conversation_id=conversation.pk, by=buyer, client_id=uuid.uuid4(), seq=original.seq
    )
    for attempt in (
        lambda: services.message_edit(
            conversation_id=conversation.pk,
            editor=buyer,
            client_id=uuid.uuid4(),
            seq=original.seq,
            body="back",
        ),
        lambda: services.message_delete(
            conversation_id=conversation.pk, by=buyer, client_id=uuid.uuid4(), seq=original.seq
        ),
    ):
        with pytest.raises(ApplicationError) as refused:
            attempt()
        assert refused.value.code == ErrorCode.NOT_FOUND
    assert Event.objects.filter(conversation=conversation).count() == 3


def test_read_marks_move_forward_only_and_drive_unread_counts(chat) -> None:
    # given three messages from the buyer
    buyer, provider, conversation = chat
    for body in ("one", "two", "three"):
        send(conversation, buyer, body)
    [summary] = conversation_summaries_for_user(user=provider)
    assert summary.unread == 3
    # when the provider reads up to seq 3, then tries to go back to 2
    services.read_mark(conversation_id=conversation.pk, user=provider, seq=3)
    services.read_mark(conversation_id=conversation.pk, user=provider, seq=2)
    # then
    assert Participant.objects.get(conversation=conversation, user=provider).last_read_seq == 3
    [summary] = conversation_summaries_for_user(user=provider)
    assert summary.unread == 1
    [own] = conversation_summaries_for_user(user=buyer)
    assert own.unread == 0


def test_read_beyond_the_head_is_refused(chat) -> None:
    _, provider, conversation = chat
    with pytest.raises(ApplicationError) as refused:
        services.read_mark(conversation_id=conversation.pk, user=provider, seq=2)
    assert refused.value.code == ErrorCode.INVALID_FRAME
    assert Participant.objects.get(conversation=conversation, user=provider).last_read_seq == 0


def test_a_connection_left_by_a_crashed_server_is_forgotten_at_the_next_connect(chat) -> None:
    # given a connection row last seen long ago (its server died without closing it)
    buyer, _, _ = chat
    services.connection_open(user_id=buyer.pk, channel_name="specific.dead!1")
    Connection.objects.filter(channel_name="specific.dead!1").update(
        seen_at=timezone.now() - timedelta(hours=1)
    )
    # when the buyer connects again
    services.connection_open(user_id=buyer.pk, channel_name="specific.live!2")
    # then only the live connection is left
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["specific.live!2"]
