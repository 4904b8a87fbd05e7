"""Secrets for the embedded default: generated once into the data folder, reused after.

Production sets every secret in the environment; this module only runs for what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path


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
