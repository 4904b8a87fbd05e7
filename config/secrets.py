"""Secrets for the embedded default: generated once into the data folder, reused after.

Production sets every secret in the environment; this module only runs for what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path

import nacl.signing


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # O_EXCL: two processes starting at once must not overwrite each other's fresh key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def read_or_create(path: Path, make: str) -> str:
    """The secret stored at ``path``, written there first (mode 0600) from ``make`` if absent."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process wrote it first
            _write_private(path, make)
    return path.read_text().strip()


def new_master_key() -> dict[str, str]:
    return {"id": f"kek-{secrets.token_hex(4)}", "key": secrets.token_hex(32)}


def master_key_ring(keys_dir: Path) -> list[dict[str, str]]:
    """The key ring stored in ``keys_dir/master_keys.json``: first entry encrypts, all decrypt."""
    text = read_or_create(keys_dir / "master_keys.json", json.dumps([new_master_key()]))
    ring = json.loads(text)
    if not isinstance(ring, list) or not ring:
        raise ValueError(f"{keys_dir / 'master_keys.json'} holds no master key")
    return ring


def write_master_key_ring(keys_dir: Path, ring: list[dict[str, str]]) -> None:
    path = keys_dir / "master_keys.json"
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, json.dumps(ring))
    os.replace(tmp, path)


def parse_master_keys(value: str) -> list[dict[str, str]]:
    """``CHATBOX_MASTER_KEYS`` is ``id:hex,id:hex``; the first one encrypts."""
    ring = []
    for item in value.split(","):
        key_id, _, key_hex = item.strip().partition(":")
        if not key_id or len(key_hex) != 64:
            raise ValueError("CHATBOX_MASTER_KEYS must be 'id:64-hex-chars[,id:64-hex-chars…]'")
        ring.append({"id": key_id, "key": key_hex})
    return ring


# -- checkpoint signing keys (Ed25519) -----------------------------------------------------------


def signing_key_id(public_key: bytes) -> str:
    """A signing key's id: the first 16 hex digits of SHA-256 of its public key, so an id
    names one key and the offline verifier can check the pair."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def new_signing_key() -> dict[str, str]:
    seed = secrets.token_bytes(32)
    public_key = bytes(nacl.signing.SigningKey(seed).verify_key)
    return {"id": signing_key_id(public_key), "seed": seed.hex()}


def signing_key_ring(keys_dir: Path) -> list[dict[str, str]]:
    """The ring in ``keys_dir/signing_keys.json``: the first key signs, all are kept so that
    old checkpoints still verify."""
    path = keys_dir / "signing_keys.json"
    ring = json.loads(read_or_create(path, json.dumps([new_signing_key()])))
    if not isinstance(ring, list) or not ring:
        raise ValueError(f"{path} holds no signing key")
    return ring


def write_signing_key_ring(keys_dir: Path, ring: list[dict[str, str]]) -> None:
    path = keys_dir / "signing_keys.json"
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, json.dumps(ring))
    os.replace(tmp, path)


def parse_signing_keys(value: str) -> list[dict[str, str]]:
    """``CHATBOX_SIGNING_KEYS`` is ``key_id:hex-seed[,key_id:hex-seed…]`` (32-byte seeds); the
    first signs. The id must be the key's own (``signing_key_id``): the error says which."""
    ring = []
    for item in value.split(","):
        key_id, _, seed_hex = item.strip().partition(":")
        try:
            seed = bytes.fromhex(seed_hex)
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ValueError("CHATBOX_SIGNING_KEYS must be 'key_id:64-hex-chars[,…]'")
        own_id = signing_key_id(bytes(nacl.signing.SigningKey(seed).verify_key))
        if key_id != own_id:
            raise ValueError(f"CHATBOX_SIGNING_KEYS: the key given as {key_id!r} has id {own_id!r}")
        ring.append({"id": key_id, "seed": seed_hex.lower()})
    return ring
