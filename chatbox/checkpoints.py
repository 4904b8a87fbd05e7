"""Signed checkpoints of the evidence chain (PROTOCOL.md §5): make them, find the latest,
push them to the parties' clients.

A checkpoint says "conversation C had head H at seq N", signed with the server's Ed25519 key.
It is made on every money event, on every export and at least every ``CHECKPOINT_INTERVAL``
events; the latest is pushed to the conversation's sockets, and clients keep it, so a server
that later rewrote its history would contradict what the parties hold.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from chatbox import realtime, signing
from chatbox.canonical import canonical, rfc3339
from chatbox.models import Checkpoint, Conversation

CHECKPOINT_INTERVAL = 100
# Events of these kinds move money or decide about it: each is signed at once.
MONEY_KINDS = frozenset({"invoice", "payment", "dispute"})


def checkpoint_unsigned(checkpoint: Checkpoint) -> dict[str, Any]:
    """What the signature covers: the checkpoint without ``sig``."""
    return {
        "conversation": str(checkpoint.conversation_id),
        "seq": checkpoint.seq,
        "head": checkpoint.head,
        "ts": rfc3339(checkpoint.ts),
        "key_id": checkpoint.key_id,
    }


def checkpoint_document(checkpoint: Checkpoint) -> dict[str, Any]:
    """The checkpoint as clients and bundles carry it."""
    return {**checkpoint_unsigned(checkpoint), "sig": checkpoint.sig}


def checkpoint_make(*, conversation: Conversation) -> Checkpoint:
    """Sign ``conversation``'s head with the current key; the checkpoint already made for this
    head and key is returned as it is. Precondition: the caller holds the conversation's row
    lock and ``conversation.head_seq``/``head_hash`` are the head it holds."""
    if conversation.head_seq < 1:
        raise ValueError("a conversation without events has nothing to sign")
    key = signing.signer()
    existing = Checkpoint.objects.filter(
        conversation=conversation, seq=conversation.head_seq, key_id=key.id
    ).first()
    if existing is not None:
        return existing
    checkpoint = Checkpoint(
        conversation=conversation,
        seq=conversation.head_seq,
        head=conversation.head_hash,
        ts=timezone.now(),
        key_id=key.id,
    )
    checkpoint.sig = key.sign(canonical(checkpoint_unsigned(checkpoint)))
    checkpoint.save()
    realtime.publish_on_commit(
        realtime.conversation_group(conversation.pk),
        {
            "type": "chat.checkpoint",
            "conversation": str(conversation.pk),
            "checkpoint": checkpoint_document(checkpoint),
        },
    )
    return checkpoint


@transaction.atomic
def conversation_checkpoint(*, conversation_id: uuid.UUID) -> Checkpoint:
    """Sign the conversation's current head (an export does this first)."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    return checkpoint_make(conversation=conversation)


def checkpoint_latest(*, conversation_id: uuid.UUID) -> Checkpoint | None:
    return (
        Checkpoint.objects.filter(conversation_id=conversation_id).order_by("-seq", "-ts").first()
    )
