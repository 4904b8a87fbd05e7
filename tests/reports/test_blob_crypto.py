"""chatbox.crypto's sealed blobs: a data key per blob, bound to its purpose and subject."""

from __future__ import annotations

import dataclasses

import pytest

from chatbox.crypto import CryptoError, blob_open, blob_seal, key_ring


def test_a_sealed_blob_opens_for_its_purpose_and_subject() -> None:
    # given
    sealed = blob_seal(purpose="identity-document", subject="doc-1", plaintext=b"passport scan")
    # when
    opened = blob_open(purpose="identity-document", subject="doc-1", sealed=sealed)
    # then
    assert opened == b"passport scan"
    assert sealed.kek_id == key_ring().primary.id
    assert b"passport scan" not in sealed.ciphertext


def test_each_blob_has_its_own_data_key() -> None:
    first = blob_seal(purpose="identity-document", subject="doc-1", plaintext=b"same")
    second = blob_seal(purpose="identity-document", subject="doc-1", plaintext=b"same")
    assert first.wrapped_key != second.wrapped_key
    assert first.ciphertext != second.ciphertext


@pytest.mark.parametrize(
    ("purpose", "subject"), [("identity-document", "doc-2"), ("other", "doc-1")]
)
def test_a_blob_moved_to_another_subject_or_purpose_does_not_open(
    purpose: str, subject: str
) -> None:
    # given
    sealed = blob_seal(purpose="identity-document", subject="doc-1", plaintext=b"passport scan")
    # when / then
    with pytest.raises(CryptoError):
        blob_open(purpose=purpose, subject=subject, sealed=sealed)


def test_a_tampered_blob_does_not_open() -> None:
    sealed = blob_seal(purpose="identity-document", subject="doc-1", plaintext=b"passport scan")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(CryptoError):
        blob_open(
            purpose="identity-document",
            subject="doc-1",
            sealed=dataclasses.replace(sealed, ciphertext=flipped),
        )
