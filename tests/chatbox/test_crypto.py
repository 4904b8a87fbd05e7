"""Encryption at rest: data keys wrapped by the master key ring, payloads bound to their row."""

from __future__ import annotations

import uuid

import pytest

from chatbox import crypto

CONVERSATION = str(uuid.uuid4())


def ring(*key_ids: str) -> crypto.KeyRing:
    return crypto.KeyRing(
        tuple(
            crypto.MasterKey(key_id, bytes([n]) * 32) for n, key_id in enumerate(key_ids, start=1)
        )
    )


def sealed(data_key: bytes, **overrides: object) -> bytes:
    where = {"conversation_id": CONVERSATION, "seq": 7, "sender_id": 3, "key_version": 1}
    where.update(overrides)
    return crypto.payload_seal(data_key=data_key, payload={"body": "the price is 40"}, **where)


def test_payload_opens_where_it_was_sealed() -> None:
    data_key = crypto.data_key_generate()
    ciphertext = sealed(data_key)
    assert b"price" not in ciphertext
    assert crypto.payload_open(
        data_key=data_key,
        conversation_id=CONVERSATION,
        seq=7,
        sender_id=3,
        key_version=1,
        ciphertext=ciphertext,
    ) == {"body": "the price is 40"}


@pytest.mark.parametrize(
    "moved_to",
    [
        {"seq": 8},
        {"conversation_id": str(uuid.uuid4())},
        {"sender_id": 4},
        {"sender_id": None},
        {"key_version": 2},
    ],
)
def test_payload_moved_to_another_row_does_not_open(moved_to: dict) -> None:
    # given a payload sealed for seq 7 by sender 3 in one conversation
    data_key = crypto.data_key_generate()
    ciphertext = sealed(data_key)
    where = {
        "conversation_id": CONVERSATION,
        "seq": 7,
        "sender_id": 3,
        "key_version": 1,
        **moved_to,
    }
    # when it is opened as another row / then it refuses
    with pytest.raises(crypto.CryptoError):
        crypto.payload_open(data_key=data_key, ciphertext=ciphertext, **where)


def test_tampered_ciphertext_does_not_open() -> None:
    data_key = crypto.data_key_generate()
    ciphertext = bytearray(sealed(data_key))
    ciphertext[-1] ^= 1
    with pytest.raises(crypto.CryptoError):
        crypto.payload_open(
            data_key=data_key,
            conversation_id=CONVERSATION,
            seq=7,
            sender_id=3,
            key_version=1,
            ciphertext=bytes(ciphertext),
        )


def test_data_key_is_wrapped_by_the_primary_master_key_and_unwraps_with_any() -> None:
    # given a ring whose primary is "new" and that still holds "old"
    keys = ring("new", "old")
    data_key = crypto.data_key_generate()
    # when
    wrapped = crypto.data_key_wrap(
        data_key=data_key, conversation_id=CONVERSATION, version=1, ring=keys
    )
    # then
    assert wrapped.kek_id == "new"
    assert data_key not in wrapped.wrapped


def test_wrapped_data_key_is_bound_to_its_conversation_and_version(settings) -> None:
    # given the active ring
    settings.CHATBOX_MASTER_KEYS = [{"id": "k1", "key": "11" * 32}]
    data_key = crypto.data_key_generate()
    wrapped = crypto.data_key_wrap(data_key=data_key, conversation_id=CONVERSATION, version=1)
    # then it opens for its own conversation and version only
    assert (
        crypto.data_key_unwrap(wrapped=wrapped, conversation_id=CONVERSATION, version=1) == data_key
    )
    with pytest.raises(crypto.CryptoError):
        crypto.data_key_unwrap(wrapped=wrapped, conversation_id=str(uuid.uuid4()), version=1)
    with pytest.raises(crypto.CryptoError):
        crypto.data_key_unwrap(wrapped=wrapped, conversation_id=CONVERSATION, version=2)


def test_data_key_of_an_unknown_master_key_is_refused(settings) -> None:
    settings.CHATBOX_MASTER_KEYS = [{"id": "k1", "key": "11" * 32}]
    wrapped = crypto.data_key_wrap(
        data_key=crypto.data_key_generate(), conversation_id=CONVERSATION, version=1
    )
    settings.CHATBOX_MASTER_KEYS = [{"id": "k2", "key": "22" * 32}]
    with pytest.raises(crypto.CryptoError, match="not in the key ring"):
        crypto.data_key_unwrap(wrapped=wrapped, conversation_id=CONVERSATION, version=1)
