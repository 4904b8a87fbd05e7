"""The server's Ed25519 keys that sign the chain's checkpoints: the first key of the ring
signs, every key in it verifies (rotation puts a new key first and keeps the old ones).

The ring comes from settings (``CHATBOX_SIGNING_KEYS``: from the environment, or generated
into ``DATA_DIR/keys/signing_keys.json`` in the embedded default). A key's id is the first 16
hex digits of SHA-256 of its public key (``config.secrets.signing_key_id``).
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.signing
from django.conf import settings


@dataclass(frozen=True)
class SigningKey:
    id: str
    key: nacl.signing.SigningKey

    @property
    def public_hex(self) -> str:
        return bytes(self.key.verify_key).hex()

    def sign(self, message: bytes) -> str:
        """The detached Ed25519 signature of ``message``, in hex."""
        return bytes(self.key.sign(message).signature).hex()


def signing_ring() -> tuple[SigningKey, ...]:
    return tuple(
        SigningKey(id=entry["id"], key=nacl.signing.SigningKey(bytes.fromhex(entry["seed"])))
        for entry in settings.CHATBOX_SIGNING_KEYS
    )


def signer() -> SigningKey:
    """The key that signs new checkpoints."""
    return signing_ring()[0]


def public_keys() -> dict[str, str]:
    """Every key of the ring, ``{key id: hex public key}``."""
    return {key.id: key.public_hex for key in signing_ring()}
