"""The evidence page of a conversation (parties only)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from chatbox.checkpoints import conversation_checkpoint
from chatbox.evidence import verify_bundle
from chatbox.models import Checkpoint, Conversation, Event
from chatbox.services import message_send
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


def record_on_page(client: Client, conversation: Conversation) -> dict[str, Any]:
    """The server's record the page hands to evidence.js (its ``json_script``)."""
    page = client.get(f"/conversations/{conversation.pk}/evidence/").content.decode()
    found = re.search(r'<script id="evidence-record" type="application/json">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def said(conversation: Conversation, sender: User, text: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=text
    )


def hash_at(conversation: Conversation, seq: int) -> str:
    return Event.objects.get(conversation=conversation, seq=seq).hash


def test_the_page_carries_the_hash_of_each_signed_event(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given checkpoints at seq 3 and 4, and an event after them
    said(conversation, buyer, "Hello")
    said(conversation, provider, "Hi")
    first = conversation_checkpoint(conversation_id=conversation.pk)
    said(conversation, buyer, "The brief is attached.")
    second = conversation_checkpoint(conversation_id=conversation.pk)
    said(conversation, provider, "Thanks!")

    # when the buyer opens the evidence page
    record = record_on_page(client_of(buyer), conversation)

    # then it carries the event hash at each signed seq, which the checkpoints' heads match
    assert record == {
        "chain": {"ok": True, "first_bad_seq": None},
        "signed": [
            {"seq": 3, "hash": hash_at(conversation, 3)},
            {"seq": 4, "hash": hash_at(conversation, 4)},
        ],
    }
    assert (first.seq, first.head) == (3, hash_at(conversation, 3))
    assert (second.seq, second.head) == (4, hash_at(conversation, 4))


def test_the_page_carries_the_events_hash_as_rewritten_not_the_signed_head(
    conversation: Conversation, buyer: User
) -> None:
    # given a checkpoint at seq 2, then the server's record rewritten at that seq
    said(conversation, buyer, "Hello")
    signed = conversation_checkpoint(conversation_id=conversation.pk)
    Event.objects.filter(conversation=conversation, seq=2).update(hash="f" * 64)

    # when the buyer opens the evidence page
    record = record_on_page(client_of(buyer), conversation)

    # then the page hands over the rewritten hash, which a device holding the checkpoint
    # tells apart from its head, and the chain's break
    assert record == {
        "chain": {"ok": False, "first_bad_seq": 2},
        "signed": [{"seq": 2, "hash": "f" * 64}],
    }
    assert signed.head != "f" * 64


def test_without_checkpoints_the_page_carries_no_signed_event(
    conversation: Conversation, buyer: User
) -> None:
    record = record_on_page(client_of(buyer), conversation)
    assert record == {"chain": {"ok": True, "first_bad_seq": None}, "signed": []}
    assert not Checkpoint.objects.exists()  # reading the page signs nothing
