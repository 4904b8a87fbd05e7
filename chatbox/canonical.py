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


# Hashed as null: the text enters the chain only through ``body_commit``.
UNHASHED_TEXT_FIELDS = ("body", "salt")


def event_hash(document: dict[str, Any]) -> str:
    """``SHA-256(0x00 || canonical(event without "hash"))``, with ``body`` and ``salt`` taken as
    null: the text enters the chain only as its salted commitment, so an event shown without
    its text ("hash only": ``body`` and ``salt`` null) has the same hash and still verifies."""
    hashed = {key: value for key, value in document.items() if key != "hash"}
    for field in UNHASHED_TEXT_FIELDS:
        if field in hashed:
            hashed[field] = None
    return hashlib.sha256(b"\x00" + canonical(hashed)).hexdigest()


def rfc3339(moment: datetime) -> str:
    """One fixed spelling of a time (UTC, microseconds, ``Z``), so hashes recompute exactly."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
