"""The stored record: chained, verifiable, tamper-evident and with no plaintext at rest."""

from __future__ import annotations

import json
import os
import stat
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from chatbox import services
from chatbox.canonical import GENESIS_PREV
from chatbox.models import ConversationKey, Event
from chatbox.presenters import messages_present
from chatbox.selectors import events_after
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    return buyer, provider, conversation_between(buyer, provider)


def send(conversation, sender, body: str) -> Event:
    return services.message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def test_events_chain_from_genesis_and_verify(chat) -> None:
    # given
    buyer, provider, conversation = chat
    # when
    send(conversation, buyer, "Hello")
    send(conversation, provider, "Hi, when do you need it?")
    # then
    events = list(Event.objects.filter(conversation=conversation).order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev == GENESIS_PREV
    assert [e.prev for e in events[1:]] == [e.hash for e in events[:-1]]
    conversation.refresh_from_db()
    assert (conversation.head_seq, conversation.head_hash) == (3, events[-1].hash)
    assert services.conversation_chain_verify(conversation_id=conversation.pk) == (
        services.ChainVerdict(ok=True, events=3)
    )


def test_verifier_names_the_first_bad_seq_when_data_is_changed(chat) -> None:
    # given a conversation of four events
    buyer, _, conversation = chat
    for body in ("one", "two", "three"):
        send(conversation, buyer, body)
    # when someone rewrites the structured data of event 3 behind the service's back
    Event.objects.filter(conversation=conversation, seq=3).update(data={"forged": True})
    # then
    verdict = services.conversation_chain_verify(conversation_id=conversation.pk)
    assert (verdict.ok, verdict.first_bad_seq, verdict.reason) == (
        False,
        3,
        "the hash does not recompute",
    )


def test_verifier_names_a_row_whose_ciphertext_was_swapped(chat) -> None:
    # given
    buyer, _, conversation = chat
    send(conversation, buyer, "one")
    send(conversation, buyer, "two")
    two = Event.objects.get(conversation=conversation, seq=3)
    # when event 2 gets event 3's ciphertext
    Event.objects.filter(conversation=conversation, seq=2).update(ciphertext=two.ciphertext)
    # then
    verdict = services.conversation_chain_verify(conversation_id=conversation.pk)
    assert (verdict.ok, verdict.first_bad_seq, verdict.reason) == (
        False,
        2,
        "the sealed body does not open",
    )


def test_verifier_names_a_missing_seq(chat) -> None:
    buyer, _, conversation = chat
    for body in ("one", "two", "three"):
        send(conversation, buyer, body)
    Event.objects.filter(conversation=conversation, seq=3).delete()
    verdict = services.conversation_chain_verify(conversation_id=conversation.pk)
    assert (verdict.ok, verdict.first_bad_seq, verdict.reason) == (False, 3, "seq 3 is missing")


def test_ciphertext_moved_to_another_conversation_does_not_open(chat) -> None:
    # given two conversations
    buyer, provider, conversation = chat
    other = conversation_between(buyer, provider, title="Another project")
    secret = send(conversation, buyer, "secret terms")
    target = send(other, buyer, "harmless")
    # when a row of one gets the ciphertext of the other
    Event.objects.filter(pk=target.pk).update(ciphertext=secret.ciphertext)
    # then it does not open there
    verdict = services.conversation_chain_verify(conversation_id=other.pk)
    assert (verdict.ok, verdict.first_bad_seq) == (False, target.seq)


def _database_bytes() -> bytes:
    """Every byte the database holds, as a reader of its files would see them."""
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA wal_checkpoint(FULL)")
        path = Path(connection.settings_dict["NAME"])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        dump = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608 - names from the catalogue
            dump.extend(row[0].encode() for row in cursor.fetchall())
        return b"\n".join(dump)


@pytest.mark.django_db(transaction=True)
def test_no_message_text_is_stored_in_the_database() -> None:
    # given a conversation with a distinctive message, an edit of it, and a link
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    conversation = conversation_between(buyer, provider)
    event = send(conversation, buyer, "zebra-marmalade-quartz https://example.com/zebra")
    services.message_edit(
        conversation_id=conversation.pk,
        editor=buyer,
        client_id=uuid.uuid4(),
        seq=event.seq,
        body="ocelot-tapioca-fjord",
    )
    # when the database is read raw
    raw = _database_bytes()
    # then the texts are in there nowhere, while the reading does see the rows (the title of a
    # conversation is not chat text and is stored as it is)
    assert b"Logo design" in raw
    assert b"zebra" not in raw
    assert b"ocelot" not in raw
    assert Event.objects.filter(conversation=conversation).count() == 3


def test_rotate_master_key_rewraps_every_data_key_and_messages_still_open(
    chat, settings, tmp_path
) -> None:
    # given two conversations with messages, under a key ring of one master key
    settings.KEYS_DIR = tmp_path
    settings.CHATBOX_MASTER_KEYS_FROM_ENV = False
    buyer, provider, conversation = chat
    other = conversation_between(buyer, provider, title="Second")
    send(conversation, buyer, "first words")
    send(other, provider, "other words")
    old_kek = settings.CHATBOX_MASTER_KEYS[0]["id"]
    # when
    out = StringIO()
    call_command("rotate_master_key", stdout=out)
    # then every data key is wrapped by the new primary key, stored 0600 in the ring file
    new_kek = settings.CHATBOX_MASTER_KEYS[0]["id"]
    assert new_kek != old_kek
    ring_file = tmp_path / "master_keys.json"
    assert [k["id"] for k in json.loads(ring_file.read_text())] == [new_kek, old_kek]
    assert stat.S_IMODE(os.stat(ring_file).st_mode) == 0o600
    assert set(ConversationKey.objects.values_list("kek_id", flat=True)) == {new_kek}
    assert "Re-wrapped 2 conversation data keys" in out.getvalue()
    # and all messages still open and verify
    for chat_id, body in ((conversation.pk, "first words"), (other.pk, "other words")):
        events = events_after(conversation_id=chat_id, after=0, limit=10)
        assert messages_present(conversation_id=chat_id, events=events)[-1]["body"] == body
        assert services.conversation_chain_verify(conversation_id=chat_id).ok


def test_rewrapped_keys_no_longer_need_the_old_master_key(chat, settings) -> None:
    # given a rotation to a fresh ring holding only the new key
    buyer, _, conversation = chat
    send(conversation, buyer, "still readable")
    new_ring = [{"id": "fresh", "key": "ab" * 32}, *settings.CHATBOX_MASTER_KEYS]
    settings.CHATBOX_MASTER_KEYS = new_ring
    services.data_keys_rewrap()
    # when the old key is retired from the ring
    settings.CHATBOX_MASTER_KEYS = new_ring[:1]
    # then messages open with the new key alone
    events = events_after(conversation_id=conversation.pk, after=0, limit=10)
    assert messages_present(conversation_id=conversation.pk, events=events)[-1]["body"] == (
        "still readable"
    )


def test_embedded_keys_are_private_files() -> None:
    keys_dir = django_settings.KEYS_DIR
    for name in ("secret_key", "master_keys.json"):
        assert stat.S_IMODE(os.stat(keys_dir / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys_dir).st_mode) == 0o700
