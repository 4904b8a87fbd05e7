"""The end of a conversation's life (docs/retention.md): closing it, then crypto-shredding it.

Closing makes it read-only, with a system event that says so. Shredding destroys its data keys:
every sealed text, file name and file byte was encrypted under them, so nothing of it can be
read again — by us, by a backup, by anyone — while the chain's hashes, commitments, the events'
facts (kinds, times, amounts) and the signed checkpoints stay. The stored files are deleted
too, after commit; one left behind by a crash is unreadable all the same.

Whether a conversation may close or be shredded (the work is over, no legal hold) is the
decision of ``reports.retention``, which sees the layers above the chat.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from chatbox.errors import ApplicationError, ErrorCode
from chatbox.files import file_bytes_destroy
from chatbox.models import ChatFile, Conversation, ConversationKey, Event
from chatbox.services import _append, _locked_conversation


@transaction.atomic
def conversation_close(*, conversation_id: uuid.UUID, body: str) -> bool:
    """Close the conversation with a system event saying ``body``; False if it was closed."""
    conversation = _locked_conversation(conversation_id)
    if conversation.closed_at is not None:
        return False
    _append(
        conversation=conversation,
        kind=Event.Kind.SYSTEM,
        sender=None,
        body=body,
        data={"event": "conversation_closed"},
    )
    Conversation.objects.filter(pk=conversation.pk).update(closed_at=timezone.now())
    return True


@transaction.atomic
def conversation_shred(*, conversation_id: uuid.UUID) -> bool:
    """Destroy a closed conversation's data keys and files; False if it was shredded."""
    conversation = _locked_conversation(conversation_id)
    if conversation.shredded_at is not None:
        return False
    if conversation.closed_at is None:
        raise ApplicationError(ErrorCode.CLOSED, "Only a closed conversation is shredded.")
    ConversationKey.objects.filter(conversation=conversation).delete()
    # The keyed fingerprints of its texts go too: they would still match the same words.
    Event.objects.filter(conversation=conversation).update(fingerprint="")
    Conversation.objects.filter(pk=conversation.pk).update(shredded_at=timezone.now())
    stored = list(ChatFile.objects.filter(conversation=conversation))
    transaction.on_commit(lambda: _files_delete(stored))
    return True


def _files_delete(stored: list[ChatFile]) -> None:
    for chat_file in stored:
        file_bytes_destroy(chat_file)
