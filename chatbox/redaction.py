"""Redaction: support removes the text of one message from the record (docs/evidence.md).

For illegal content or an erasure request that outweighs keeping the text. The event is sealed
again without its ``body``, ``salt``, HTML and contact spans; its ``body_commit`` and ``hash``
stay, and the hash never covered the text (``chatbox.canonical.event_hash``), so the chain
still verifies with the event hash-only. Edits of the message are redacted with it, and a file
the event carries loses its stored bytes and previews (the SHA-256, size and name stay in the
chain; bundles list the file as withheld). The redaction is itself an event, naming the seq.

The caller decides who may redact (``reports.cases.case_event_redact``: support staff with an
open case on the conversation) and logs why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatbox import crypto
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.files import file_bytes_destroy
from chatbox.models import ChatFile, Event
from chatbox.services import _append, _locked_conversation, data_keys, event_payload

REASONS = {
    "illegal_content": "illegal content",
    "erasure_request": "an erasure request",
    "legal_order": "a legal order",
}
REDACTABLE_KINDS = (Event.Kind.TEXT, Event.Kind.FILE)


@dataclass(frozen=True)
class Redaction:
    seq: int
    redacted_seqs: list[int]
    notice: Event


@transaction.atomic
def event_redact(*, conversation_id: uuid.UUID, seq: int, reason: str) -> Redaction:
    """Remove the text of message ``seq`` (and of its edits) for ``reason`` (``REASONS``)."""
    if reason not in REASONS:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"The reason is one of {', '.join(REASONS)}.",
            {"reason": [f"one of {', '.join(REASONS)}"]},
        )
    conversation = _locked_conversation(conversation_id)
    target = Event.objects.filter(conversation=conversation, seq=seq).first()
    if target is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, f"There is no message #{seq}.")
    if target.kind not in REDACTABLE_KINDS:
        raise ApplicationError(
            ErrorCode.INVALID,
            "Only a message or a file is redacted; the record's own events stay whole.",
            {"seq": ["not a message or a file"]},
        )
    if target.redacted_at is not None:
        raise ApplicationError(ErrorCode.CLOSED, f"Message #{seq} is already redacted.")
    edits = list(
        Event.objects.filter(conversation=conversation, kind=Event.Kind.EDIT, target_seq=seq)
    )
    keys = data_keys(conversation_id=conversation.pk)
    now = timezone.now()
    for event in [target, *edits]:
        _payload_strip(event, keys=keys, at=now)
    if target.kind == Event.Kind.FILE:
        chat_file = ChatFile.objects.get(event=target)
        transaction.on_commit(lambda: file_bytes_destroy(chat_file))
    redacted = [target.seq, *(edit.seq for edit in edits)]
    notice = _append(
        conversation=conversation,
        kind=Event.Kind.SYSTEM,
        sender=None,
        body=f"Support removed the text of message #{seq} ({REASONS[reason]}).",
        data={"event": "redacted", "seq": seq, "seqs": redacted, "reason": reason},
    )
    return Redaction(seq=seq, redacted_seqs=redacted, notice=notice)


def _payload_strip(event: Event, *, keys: dict[int, bytes], at: datetime) -> None:
    """Seal ``event`` again with its files' descriptions only (they are hashed into the chain);
    the text, its salt, its HTML and its contact spans go."""
    payload = event_payload(event=event, keys=keys)
    kept: dict[str, Any] = {"body": None, "salt": None, "html": ""}
    if payload.get("files"):
        kept["files"] = payload["files"]
    ciphertext = crypto.payload_seal(
        data_key=keys[event.key_version],
        conversation_id=str(event.conversation_id),
        seq=event.seq,
        sender_id=event.sender_id,
        key_version=event.key_version,
        payload=kept,
    )
    Event.objects.filter(pk=event.pk).update(ciphertext=ciphertext, redacted_at=at, fingerprint="")
