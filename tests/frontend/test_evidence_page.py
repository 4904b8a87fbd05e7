"""The evidence page of a conversation (parties only)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from chatbox.evidence import verify_bundle
from chatbox.models import Checkpoint, Conversation, Event
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer() -> User:
    return UserFactory(username="buyer", display_name="Bea Buyer")


@pytest.fixture
def provider() -> User:
    return UserFactory(username="provider", display_name="Pat Provider")


@pytest.fixture
def conversation(buyer: User, provider: User) -> Conversation:
    return conversation_between(buyer, provider)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_conversation_links_to_its_evidence(conversation: Conversation, buyer: User) -> None:
    page = client_of(buyer).get(f"/conversations/{conversation.pk}/")
    assert (
        f'href="/conversations/{conversation.pk}/evidence/">Evidence</a>' in page.content.decode()
    )


def test_the_page_shows_the_chain_and_the_last_checkpoint(
    conversation: Conversation, buyer: User
) -> None:
    client = client_of(buyer)
    # given no checkpoint yet
    before = client.get(f"/conversations/{conversation.pk}/evidence/").content.decode()
    assert "The chain holds: 1 events" in before
    assert "No checkpoint yet" in before
    # when the buyer exports with the button's link
    page = client.get(f"/conversations/{conversation.pk}/evidence/")
    export = 'href="/conversations/{}/evidence/bundle.zip" download>Export evidence</a>'
    assert export.format(conversation.pk) in page.content.decode()
    download = client.get(f"/conversations/{conversation.pk}/evidence/bundle.zip")
    # then the zip holds, and the page shows the checkpoint it made
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith("attachment;")
    assert verify_bundle(download.content).events == 1
    checkpoint = Checkpoint.objects.get()
    after = client.get(f"/conversations/{conversation.pk}/evidence/").content.decode()
    assert "<dt>Seq</dt><dd>1</dd>" in after
    assert f"<code>{checkpoint.key_id}</code>" in after


def test_a_broken_chain_is_shown(conversation: Conversation, buyer: User) -> None:
    Event.objects.filter(conversation=conversation, seq=1).update(hash="f" * 64)
    page = client_of(buyer).get(f"/conversations/{conversation.pk}/evidence/").content.decode()
    assert "The chain does not hold at seq 1: the hash does not recompute." in page


def test_others_get_404_and_nothing_is_signed(conversation: Conversation) -> None:
    outsider = client_of(UserFactory(username="outsider"))
    assert outsider.get(f"/conversations/{conversation.pk}/evidence/").status_code == 404
    assert outsider.get(f"/conversations/{conversation.pk}/evidence/bundle.zip").status_code == 404
    assert Client().get(f"/conversations/{conversation.pk}/evidence/").status_code == 302
    assert not Checkpoint.objects.exists()
