"""Encryption at rest. Nothing decrypts outside this module.

A ring of master keys (KEK) wraps one data key (DEK) per conversation and key version, with
XChaCha20-Poly1305 (``nacl.secret.Aead``). Each event payload is sealed with the DEK under
associated data naming the conversation, ``seq``, sender and key version, so a ciphertext
copied to another row fails to open.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import nacl.bindings
import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.secret
import nacl.utils
from django.conf import settings

from chatbox.canonical import canonical


class CryptoError(Exception):
    """A ciphertext did not open: wrong key, wrong row, or tampered bytes."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[MasterKey, ...]

    @property
    def primary(self) -> MasterKey:
        return self.keys[0]

    def get(self, key_id: str) -> MasterKey:
        for master in self.keys:
            if master.id == key_id:
                return master
        raise CryptoError(f"master key {key_id!r} is not in the key ring")


def key_ring() -> KeyRing:
    return KeyRing(
        tuple(
            MasterKey(id=entry["id"], key=bytes.fromhex(entry["key"]))
            for entry in settings.CHATBOX_MASTER_KEYS
        )
    )


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    wrapped: bytes


def _wrap_aad(*, conversation_id: str, version: int, kek_id: str) -> bytes:
    return canonical(
        {"purpose": "dek", "conversation": conversation_id, "version": version, "kek": kek_id}
    )


def data_key_generate() -> bytes:
    return nacl.utils.random(nacl.secret.Aead.KEY_SIZE)


def data_key_wrap(
    *, data_key: bytes, conversation_id: str, version: int, ring: KeyRing | None = None
) -> WrappedKey:
    master = (ring or key_ring()).primary
    aad = _wrap_aad(conversation_id=conversation_id, version=version, kek_id=master.id)
    return WrappedKey(master.id, bytes(nacl.secret.Aead(master.key).encrypt(data_key, aad)))


def data_key_unwrap(*, wrapped: WrappedKey, conversation_id: str, version: int) -> bytes:
    master = key_ring().get(wrapped.kek_id)
    aad = _wrap_aad(conversation_id=conversation_id, version=version, kek_id=master.id)
    try:
        return nacl.secret.Aead(master.key).decrypt(wrapped.wrapped, aad)
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"data key of conversation {conversation_id} did not open") from exc


def _event_aad(*, conversation_id: str, seq: int, sender_id: int | None, key_version: int) -> bytes:
    return canonical(
        {
            "purpose": "event",
            "conversation": conversation_id,
            "seq": seq,
            "sender": sender_id,
            "key_version": key_version,
        }
    )


def payload_seal(
    *,
    data_key: bytes,
    conversation_id: str,
    seq: int,
    sender_id: int | None,
    key_version: int,
    payload: dict[str, Any],
) -> bytes:
    aad = _event_aad(
        conversation_id=conversation_id, seq=seq, sender_id=sender_id, key_version=key_version
    )
    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    return bytes(nacl.secret.Aead(data_key).encrypt(plaintext, aad))


def payload_open(
    *,
    data_key: bytes,
    conversation_id: str,
    seq: int,
    sender_id: int | None,
    key_version: int,
    ciphertext: bytes,
) -> dict[str, Any]:
    aad = _event_aad(
        conversation_id=conversation_id, seq=seq, sender_id=sender_id, key_version=key_version
    )
    try:
        plaintext = nacl.secret.Aead(data_key).decrypt(bytes(ciphertext), aad)
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"event {seq} of conversation {conversation_id} did not open") from exc
    payload: dict[str, Any] = json.loads(plaintext)
    return payload


# -- sealed blobs: one data key per blob -----------------------------------------------------


@dataclass(frozen=True)
class SealedBlob:
    """A blob sealed at rest: its own data key, wrapped by master key ``kek_id``."""

    kek_id: str
    wrapped_key: bytes
    ciphertext: bytes


def _key_aad(*, purpose: str, subject: str, kek_id: str) -> bytes:
    return canonical({"purpose": purpose, "subject": subject, "kek": kek_id, "role": "key"})


def _blob_aad(*, purpose: str, subject: str) -> bytes:
    # No master key id here: rotating the master key re-wraps the data key, not the blob.
    return canonical({"purpose": purpose, "subject": subject, "role": "blob"})


def blob_seal(*, purpose: str, subject: str, plaintext: bytes) -> SealedBlob:
    """Seal ``plaintext`` with a fresh data key, wrapped by the primary master key.

    ``purpose`` and ``subject`` (e.g. ``"identity-document"`` and the row's id) are bound as
    associated data to both the wrapped key and the blob: moved elsewhere, neither opens.
    """
    master = key_ring().primary
    data_key = data_key_generate()
    return SealedBlob(
        kek_id=master.id,
        wrapped_key=_blob_key_wrap(master, purpose=purpose, subject=subject, data_key=data_key),
        ciphertext=bytes(
            nacl.secret.Aead(data_key).encrypt(
                plaintext, _blob_aad(purpose=purpose, subject=subject)
            )
        ),
    )


def _blob_key_wrap(master: MasterKey, *, purpose: str, subject: str, data_key: bytes) -> bytes:
    key_aad = _key_aad(purpose=purpose, subject=subject, kek_id=master.id)
    return bytes(nacl.secret.Aead(master.key).encrypt(data_key, key_aad))


def _blob_key_unwrap(
    sealed: SealedBlob, *, purpose: str, subject: str, ring: KeyRing | None = None
) -> bytes:
    master = (ring or key_ring()).get(sealed.kek_id)
    key_aad = _key_aad(purpose=purpose, subject=subject, kek_id=master.id)
    try:
        return bytes(nacl.secret.Aead(master.key).decrypt(bytes(sealed.wrapped_key), key_aad))
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"the key of {purpose} blob {subject} did not open") from exc


def blob_open(*, purpose: str, subject: str, sealed: SealedBlob) -> bytes:
    """The plaintext of a blob sealed by ``blob_seal`` for the same purpose and subject."""
    data_key = _blob_key_unwrap(sealed, purpose=purpose, subject=subject)
    blob_aad = _blob_aad(purpose=purpose, subject=subject)
    try:
        return bytes(nacl.secret.Aead(data_key).decrypt(bytes(sealed.ciphertext), blob_aad))
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"{purpose} blob of {subject} did not open") from exc


def blob_rewrap(
    *, purpose: str, subject: str, sealed: SealedBlob, ring: KeyRing | None = None
) -> SealedBlob:
    """The same blob with its data key wrapped by the ring's primary master key.

    Only the small wrapped key changes; the ciphertext stays as it is.
    """
    ring = ring or key_ring()
    master = ring.primary
    data_key = _blob_key_unwrap(sealed, purpose=purpose, subject=subject, ring=ring)
    return SealedBlob(
        kek_id=master.id,
        wrapped_key=_blob_key_wrap(master, purpose=purpose, subject=subject, data_key=data_key),
        ciphertext=sealed.ciphertext,
    )


# -- notices: what one server process tells the others through the channel layer -----------

# The channel layer (Redis) is outside the record's encryption at rest like any other store:
# a notice that carries message text is sealed with a key every process derives from the
# master key ring, and names the master key it came from.
_NOTICE_PERSON = b"chatbox-notice"


@functools.lru_cache(maxsize=8)
def _notice_key(master: MasterKey) -> bytes:
    return nacl.hash.blake2b(
        b"", key=master.key, person=_NOTICE_PERSON, digest_size=32, encoder=nacl.encoding.RawEncoder
    )


def notice_seal(*, subject: str, plaintext: bytes) -> tuple[str, bytes]:
    """``plaintext`` sealed for the other processes, bound to ``subject`` (what it is about);
    returns the master key's id with the ciphertext."""
    master = key_ring().primary
    aad = canonical({"purpose": "notice", "subject": subject})
    return master.id, bytes(nacl.secret.Aead(_notice_key(master)).encrypt(plaintext, aad))


def notice_open(*, subject: str, kek_id: str, ciphertext: bytes) -> bytes:
    master = key_ring().get(kek_id)
    aad = canonical({"purpose": "notice", "subject": subject})
    try:
        return nacl.secret.Aead(_notice_key(master)).decrypt(ciphertext, aad)
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError(f"the notice about {subject} did not open") from exc


# -- files: a stream of chunks under the conversation's data key -----------------------------

FILE_CHUNK_BYTES = 64 * 1024
_STREAM_HEADER_BYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_STREAM_ABYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def file_aad(*, conversation_id: str, file_id: str, key_version: int, role: str) -> bytes:
    """What a file's every chunk is bound to: moved to another file, role or conversation, it
    does not open. ``role``: ``original``, ``preview`` or ``thumbnail``."""
    return canonical(
        {
            "purpose": "file",
            "conversation": conversation_id,
            "file": file_id,
            "key_version": key_version,
            "role": role,
        }
    )


def _rechunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """``pieces`` as chunks of exactly ``FILE_CHUNK_BYTES`` (the last may be shorter or empty)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) > FILE_CHUNK_BYTES:
            yield bytes(buffer[:FILE_CHUNK_BYTES])
            del buffer[:FILE_CHUNK_BYTES]
    yield bytes(buffer)


def stream_seal(
    *, data_key: bytes, associated_data: bytes, pieces: Iterable[bytes], sink: BinaryIO
) -> None:
    """Write ``pieces`` to ``sink`` sealed: the 24-byte stream header, then 64 KiB chunks with
    ``crypto_secretstream_xchacha20poly1305``; the last chunk is tagged final, so a truncated
    file does not open."""
    state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
    sink.write(nacl.bindings.crypto_secretstream_xchacha20poly1305_init_push(state, data_key))
    chunks = _rechunked(pieces)
    chunk = next(chunks)
    for following in chunks:
        sink.write(
            nacl.bindings.crypto_secretstream_xchacha20poly1305_push(
                state, chunk, associated_data, _TAG_MESSAGE
            )
        )
        chunk = following
    sink.write(
        nacl.bindings.crypto_secretstream_xchacha20poly1305_push(
            state, chunk, associated_data, _TAG_FINAL
        )
    )


def stream_open(*, data_key: bytes, associated_data: bytes, source: BinaryIO) -> Iterator[bytes]:
    """The plaintext chunks of what ``stream_seal`` wrote. Raises ``CryptoError`` on a wrong
    key or binding, tampered or reordered chunks, a missing end or bytes after it."""
    header = source.read(_STREAM_HEADER_BYTES)
    if len(header) != _STREAM_HEADER_BYTES:
        raise CryptoError("the file's stream header is missing")
    state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
    try:
        nacl.bindings.crypto_secretstream_xchacha20poly1305_init_pull(state, header, data_key)
        while True:
            sealed = source.read(FILE_CHUNK_BYTES + _STREAM_ABYTES)
            if not sealed:
                raise CryptoError("the file ends before its final chunk")
            chunk, tag = nacl.bindings.crypto_secretstream_xchacha20poly1305_pull(
                state, sealed, associated_data
            )
            yield chunk
            if tag == _TAG_FINAL:
                if source.read(1):
                    raise CryptoError("the file goes on after its final chunk")
                return
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError("a chunk of the file did not open") from exc
