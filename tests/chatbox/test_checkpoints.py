"""Signed checkpoints: when they are made, what they sign, how they reach the clients, and
the rotation of the signing key."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.management import call_command

from accounts.models import User
from chatbox.canonical import canonical
from chatbox.checkpoints import checkpoint_document, checkpoint_latest
from chatbox.evidence import key_id_of, verify_bundle
from chatbox.models import Checkpoint, Conversation
from chatbox.services import message_send, system_event_post
from chatbox.signing import public_keys, signer
from config import secrets as local_secrets
from tests.chatbox.evidence_helpers import append_many, bundle_for
from tests.ws import receive_until, subscribe, ws_connect


def _signature_holds(document: dict[str, Any]) -> bool:
    unsigned = {key: value for key, value in document.items() if key != "sig"}
    key = nacl.signing.VerifyKey(bytes.fromhex(public_keys()[document["key_id"]]))
    key.verify(canonical(unsigned), bytes.fromhex(document["sig"]))
    return True


@pytest.mark.django_db
def test_every_hundredth_event_is_signed(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given 250 events
    append_many(conversation, [buyer, provider], 249)
    # then seq 100 and 200 are signed, each with the chain's hash at that seq
    checkpoints = list(Checkpoint.objects.filter(conversation=conversation))
    assert [c.seq for c in checkpoints] == [100, 200]
    hashes = dict(conversation.events.filter(seq__in=[100, 200]).values_list("seq", "hash"))
    assert [c.head for c in checkpoints] == [hashes[100], hashes[200]]
    assert all(_signature_holds(checkpoint_document(c)) for c in checkpoints)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["invoice", "payment", "dispute"])
def test_a_money_event_is_signed_at_once(conversation: Conversation, kind: str) -> None:
    event = system_event_post(
        conversation_id=conversation.pk, body=f"{kind} event", data={"event": kind}, kind=kind
    )
    checkpoint = checkpoint_latest(conversation_id=conversation.pk)
    assert checkpoint is not None
    assert (checkpoint.seq, checkpoint.head, checkpoint.key_id) == (
        event.seq,
        event.hash,
        signer().id,
    )


@pytest.mark.django_db
def test_other_events_are_not_signed(conversation: Conversation, buyer: User) -> None:
    system_event_post(conversation_id=conversation.pk, body="Contract signed.")
    message_send(conversation_id=conversation.pk, sender=buyer, client_id=uuid.uuid4(), body="hi")
    assert not Checkpoint.objects.exists()


@pytest.mark.django_db
def test_a_checkpoint_is_never_changed(conversation: Conversation, buyer: User) -> None:
    bundle_for(buyer, conversation)
    checkpoint = Checkpoint.objects.get()
    checkpoint.head = "0" * 64
    with pytest.raises(TypeError):
        checkpoint.save()


def test_key_ids_are_the_public_keys_fingerprint() -> None:
    key = signer()
    assert key.id == key_id_of(bytes(key.key.verify_key))


def test_signing_keys_from_the_environment_must_carry_their_own_id() -> None:
    seed = "11" * 32
    own = key_id_of(bytes(nacl.signing.SigningKey(bytes.fromhex(seed)).verify_key))
    assert local_secrets.parse_signing_keys(f"{own}:{seed}") == [{"id": own, "seed": seed}]
    with pytest.raises(ValueError, match=own):
        local_secrets.parse_signing_keys(f"wrong:{seed}")
    with pytest.raises(ValueError):
        local_secrets.parse_signing_keys(f"{own}:1234")


def test_the_embedded_ring_is_written_private(tmp_path: Path) -> None:
    ring = local_secrets.signing_key_ring(tmp_path / "keys")
    path = tmp_path / "keys" / "signing_keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secrets.signing_key_ring(tmp_path / "keys") == ring  # read back, not remade


@pytest.mark.django_db
def test_rotation_signs_with_the_new_key_and_old_checkpoints_still_verify(
    conversation: Conversation, buyer: User, provider: User, tmp_path: Path, monkeypatch: Any
) -> None:
    # given a checkpoint signed with the current key, in a ring of the data folder's own
    monkeypatch.setattr(settings, "KEYS_DIR", tmp_path)
    monkeypatch.setattr(settings, "CHATBOX_SIGNING_KEYS", list(settings.CHATBOX_SIGNING_KEYS))
    old = signer().id
    bundle_for(buyer, conversation)
    # when the key is rotated and the conversation exported again
    call_command("rotate_signing_key")
    new = signer().id
    append_many(conversation, [provider], 1)
    bundle = bundle_for(buyer, conversation)
    # then the new key signs, the old is kept, and both checkpoints verify
    stored = json.loads((tmp_path / "signing_keys.json").read_text())
    assert [entry["id"] for entry in stored] == [new, old, *[e["id"] for e in stored[2:]]]
    assert new != old
    assert list(Checkpoint.objects.values_list("seq", "key_id")) == [(1, old), (2, new)]
    summary = verify_bundle(bundle)
    assert (summary.checkpoints, summary.last_signed_by) == (2, (new,))
    assert set(summary.keys) == {old, new}


@pytest.mark.django_db(transaction=True)
async def test_checkpoints_reach_the_subscribed_clients(
    conversation: Conversation, buyer: User
) -> None:
    communicator, accepted, _ = await ws_connect(buyer)
    try:
        assert accepted
        subscribed, _ = await subscribe(communicator, str(conversation.pk))
        assert subscribed["checkpoint"] is None
        # when a money event is posted
        event = await database_sync_to_async(system_event_post)(
            conversation_id=conversation.pk,
            body="Invoice 3 paid.",
            data={"event": "invoice_paid", "invoice": 3},
            kind="payment",
        )
        # then the message and then its checkpoint arrive
        frame, before = await receive_until(communicator, "checkpoint")
        assert [f["seq"] for f in before if f["type"] == "message"] == [event.seq]
        assert frame["conversation"] == str(conversation.pk)
        assert (frame["checkpoint"]["seq"], frame["checkpoint"]["head"]) == (event.seq, event.hash)
        assert _signature_holds(frame["checkpoint"])
        # and a later subscription starts with it
        again, _ = await subscribe(communicator, str(conversation.pk), after=event.seq)
        assert again["checkpoint"] == frame["checkpoint"]
    finally:
        await communicator.disconnect()
