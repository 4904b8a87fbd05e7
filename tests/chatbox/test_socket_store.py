"""Opening and closing a socket's rows (``chatbox.socket_store``): one round trip each on
PostgreSQL, the ORM elsewhere; both must say the same (the suite runs on both)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chatbox import socket_store
from chatbox.models import Connection
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db


def opened(user_id: int, channel_name: str) -> socket_store.Opened:
    now = timezone.now()
    return socket_store.socket_open(
        user_id=user_id, channel_name=channel_name, now=now, fresh_after=now - timedelta(minutes=1)
    )


def closed(channel_name: str) -> socket_store.Closed | None:
    return socket_store.socket_close(
        channel_name=channel_name, fresh_after=timezone.now() - timedelta(minutes=1)
    )


def channels_of(user: User) -> set[str]:
    return set(Connection.objects.filter(user=user).values_list("channel_name", flat=True))


def test_the_first_socket_is_recorded_with_the_fresh_user_and_their_conversations() -> None:
    buyer, provider = UserFactory(), UserFactory()
    conversation = conversation_between(buyer, provider)
    User.objects.filter(pk=buyer.pk).update(display_name="Renamed since sign-in")

    first = opened(buyer.pk, "specific.a!1")

    assert first.user is not None and first.user.display_name == "Renamed since sign-in"
    assert (first.was_online, first.conversation_ids) == (False, [conversation.pk])
    assert channels_of(buyer) == {"specific.a!1"}


def test_a_second_socket_finds_the_user_online_and_stale_rows_are_forgotten() -> None:
    buyer = UserFactory()
    Connection.objects.create(
        channel_name="specific.dead!1", user=buyer, seen_at=timezone.now() - timedelta(hours=1)
    )
    assert opened(buyer.pk, "specific.a!1").was_online is False  # the dead row says nothing
    assert opened(buyer.pk, "specific.a!2").was_online is True
    assert channels_of(buyer) == {"specific.a!1", "specific.a!2"}


def test_a_banned_user_is_read_but_not_recorded() -> None:
    banned = UserFactory(standing=User.Standing.BANNED)
    conversation_between(banned, UserFactory())

    result = opened(banned.pk, "specific.b!1")

    assert result.user is not None and result.user.is_banned
    assert (result.was_online, result.conversation_ids) == (False, [])
    assert channels_of(banned) == set()


def test_a_user_gone_since_sign_in_is_none_and_nothing_is_written() -> None:
    gone = UserFactory()
    gone_id = gone.pk
    gone.delete()

    assert opened(gone_id, "specific.c!1") == socket_store.Opened(
        user=None, was_online=False, conversation_ids=[]
    )
    assert not Connection.objects.exists()


def test_closing_the_last_socket_says_offline_with_the_conversations() -> None:
    buyer = UserFactory()
    conversation = conversation_between(buyer, UserFactory())
    opened(buyer.pk, "specific.a!1")
    opened(buyer.pk, "specific.a!2")

    first = closed("specific.a!1")
    last = closed("specific.a!2")

    assert first == socket_store.Closed(user_id=buyer.pk, still_online=True, conversation_ids=[])
    assert last == socket_store.Closed(
        user_id=buyer.pk, still_online=False, conversation_ids=[conversation.pk]
    )
    assert channels_of(buyer) == set()


def test_a_socket_beside_only_a_stale_one_goes_offline_when_it_closes() -> None:
    buyer = UserFactory()
    opened(buyer.pk, "specific.a!1")
    Connection.objects.create(
        channel_name="specific.dead!1", user=buyer, seen_at=timezone.now() - timedelta(hours=1)
    )
    result = closed("specific.a!1")
    assert result is not None and result.still_online is False
    assert channels_of(buyer) == {"specific.dead!1"}  # left for the expiry, which tells no one


def test_closing_a_socket_never_recorded_does_nothing() -> None:
    buyer = UserFactory()
    opened(buyer.pk, "specific.a!1")
    assert closed("specific.unknown!9") is None
    assert channels_of(buyer) == {"specific.a!1"}
