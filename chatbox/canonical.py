"""Canonical JSON (RFC 8785) and the hashes of the evidence chain (PROTOCOL.md §5)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785

GENESIS_PREV = "0" * 64
EVENT_FORMAT_VERSION = 1


def canonical(value: Any) -> bytes:
    return rfc8785.dumps(value)


def body_commitment(*, salt: bytes, body: str) -> str:
    """``SHA-256(salt || body as UTF-8)``: lets an event be shown later without its text."""
    return hashlib.sha256(salt + body.encode("utf-8")).hexdigest()


def event_hash(document: dict[str, Any]) -> str:
    """``SHA-256(0x00 || canonical(event without "hash"))``."""
    unhashed = {key: value for key, value in document.items() if key != "hash"}
    return hashlib.sha256(b"\x00" + canonical(unhashed)).hexdigest()


def rfc3339(moment: datetime) -> str:
    """One fixed spelling of a time (UTC, microseconds, ``Z``), so hashes recompute exactly."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
