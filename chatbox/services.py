"""Every write of the chatbox: one use case, one transaction.

Appending to a conversation locks its row (``SELECT … FOR UPDATE`` on PostgreSQL, the
IMMEDIATE write lock on SQLite), so ``seq`` is gapless and ``prev`` always names the event
before, however many processes write at once.
"""

from __future__ import annotations

import copy
import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Required, TypedDict, Unpack

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import User
from accounts.services import standing_refusal, standing_require
from chatbox import batch_store, checkpoints, contacts, crypto, realtime, socket_store
from chatbox.canonical import (
    EVENT_FORMAT_VERSION,
    GENESIS_PREV,
    body_commitment,
    event_hash,
    rfc3339,
)
from chatbox.display import render_html
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import (
    Connection,
    ContactAttempt,
    Conversation,
    ConversationKey,
    Event,
    Participant,
    SealedFile,
)
from chatbox.shapes import masked_kinds, text_message_present

logger = logging.getLogger(__name__)

# -- the chain -------------------------------------------------------------------------------


def event_document(
    *,
    conversation_id: uuid.UUID,
    seq: int,
    prev: str,
    kind: str,
    actor: int | None,
    ts: str,
    body: str | None,
    salt: str | None,
    body_commit: str,
    files: list[dict[str, Any]],
    data: dict[str, Any],
) -> dict[str, Any]:
    """The event as the evidence chain hashes it (PROTOCOL.md §5), without its ``hash``."""
    return {
        "v": EVENT_FORMAT_VERSION,
        "conversation": str(conversation_id),
        "seq": seq,
        "prev": prev,
        "kind": kind,
        "actor": actor,
        "ts": ts,
        "body": body,
        "salt": salt,
        "body_commit": body_commit,
        "files": files,
        "data": data,
    }


def data_keys(*, conversation_id: uuid.UUID) -> dict[int, bytes]:
    """The conversation's unwrapped data keys by version."""
    return {
        key.version: crypto.data_key_unwrap(
            wrapped=crypto.WrappedKey(key.kek_id, bytes(key.wrapped)),
            conversation_id=str(conversation_id),
            version=key.version,
        )
        for key in ConversationKey.objects.filter(conversation_id=conversation_id)
    }


def event_payload(*, event: Event, keys: dict[int, bytes]) -> dict[str, Any]:
    """The sealed part of ``event``: ``{"body", "salt", "html"}``, and ``"spans"`` — the
    contact details found in the body, ``[[start, end, kind], …]`` — when it has any."""
    if event.key_version not in keys:
        raise crypto.CryptoError(f"no data key version {event.key_version}")
    return crypto.payload_open(
        data_key=keys[event.key_version],
        conversation_id=str(event.conversation_id),
        seq=event.seq,
        sender_id=event.sender_id,
        key_version=event.key_version,
        ciphertext=bytes(event.ciphertext),
    )


class EventContent(TypedDict, total=False):
    """What a new event says; the chain adds its place (``seq``, ``prev``, time, hash).

    ``spans``: the contact details in ``body``; sealed with it (never stored in the clear), so
    that what a viewer sees can be masked without scanning the text again.
    ``files``: ``[{"sha256", "size", "name"}]`` of the files the event carries; hashed into the
    chain and sealed with the body (PROTOCOL.md §5), never stored in the clear."""

    kind: Required[str]
    sender: Required[User | None]
    body: Required[str]
    data: dict[str, Any] | None
    client_id: uuid.UUID | None
    target_seq: int | None
    spans: Sequence[contacts.Span]
    files: Sequence[dict[str, Any]]


def _event_build(
    *, conversation: Conversation, data_key: bytes, **content: Unpack[EventContent]
) -> tuple[Event, dict[str, Any]]:
    """The next event of ``conversation``, hashed into its chain and sealed, not saved yet;
    with its sealed payload. Moves ``conversation``'s head (in memory) to the new event.
    Precondition: the caller holds the conversation's row lock and saves what this returns,
    in order, in the same transaction."""
    kind, sender, body = content["kind"], content["sender"], content["body"]
    data = content.get("data") or {}
    spans, files = content.get("spans", ()), content.get("files", ())
    now = timezone.now()
    seq = conversation.head_seq + 1
    salt = os.urandom(32)
    commit = body_commitment(salt=salt, body=body)
    digest = event_hash(
        event_document(
            conversation_id=conversation.pk,
            seq=seq,
            prev=conversation.head_hash,
            kind=kind,
            actor=sender.pk if sender else None,
            ts=rfc3339(now),
            body=body,
            salt=salt.hex(),
            body_commit=commit,
            files=list(files),
            data=data,
        )
    )
    payload = {
        "body": body,
        "salt": salt.hex(),
        "html": render_html(body),
        **({"spans": [[sp.start, sp.end, str(sp.kind)] for sp in spans]} if spans else {}),
        **({"files": list(files)} if files else {}),
    }
    event = Event(
        conversation=conversation,
        seq=seq,
        kind=kind,
        sender=sender,
        client_id=content.get("client_id"),
        target_seq=content.get("target_seq"),
        data=data,
        key_version=conversation.key_version,
        ciphertext=crypto.payload_seal(
            data_key=data_key,
            conversation_id=str(conversation.pk),
            seq=seq,
            sender_id=sender.pk if sender else None,
            key_version=conversation.key_version,
            payload=payload,
        ),
        body_commit=commit,
        prev=conversation.head_hash,
        hash=digest,
        created_at=now,
        fingerprint=_fingerprint(body) if kind == Event.Kind.TEXT else "",
    )
    conversation.head_seq, conversation.head_hash = seq, digest
    conversation.last_activity_at = now
    return event, payload


def _shredded_refuse(conversation: Conversation) -> None:
    if conversation.shredded_at is not None:
        raise ApplicationError(
            ErrorCode.CLOSED, "This conversation's record was destroyed at the end of retention."
        )


def _append(*, conversation: Conversation, **content: Unpack[EventContent]) -> Event:
    """Append one event (``_event_build``) and announce it. Precondition: the caller holds
    ``conversation``'s row lock."""
    _shredded_refuse(conversation)
    head_before = conversation.head_seq
    event, _ = _event_build(
        conversation=conversation,
        data_key=data_keys(conversation_id=conversation.pk)[conversation.key_version],
        **content,
    )
    batch_store.batch_write(events=[event], heads=[(conversation, head_before)], readers=[])
    realtime.event_published(conversation_id=conversation.pk, seq=event.seq)
    if event.seq % checkpoints.CHECKPOINT_INTERVAL == 0:
        checkpoints.checkpoint_make(conversation=conversation)
    return event


def _fingerprint(body: str) -> str:
    """A keyed fingerprint of a message's text: equal texts (up to case and spacing) match,
    and nothing of the text can be read from it without the server's secret. The fraud
    signal "the same text sent into many conversations" compares these, never texts."""
    normalised = " ".join(body.casefold().split())
    return salted_hmac("chatbox.event.fingerprint", normalised, algorithm="sha256").hexdigest()[:32]


def _locked_conversation(conversation_id: uuid.UUID | str) -> Conversation:
    try:
        return Conversation.objects.select_for_update().get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist) as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.") from exc


def _not_member() -> ApplicationError:
    return ApplicationError(ErrorCode.NOT_MEMBER, "You are not a member of this conversation.")


def _require_member(conversation: Conversation, user: User) -> Participant:
    participant = Participant.objects.filter(conversation=conversation, user=user).first()
    if participant is None:
        raise _not_member()
    return participant


def _open_require(conversation: Conversation) -> None:
    if conversation.closed_at is not None:
        raise ApplicationError(ErrorCode.CLOSED, "This conversation is closed.")
    _shredded_refuse(conversation)


def _require_writer(conversation: Conversation, user: User) -> None:
    """The writer's standing is read fresh: a suspension applies to the very next frame."""
    standing_require(user=user, doing="send")
    _open_require(conversation)


def _validated_body(body: str) -> str:
    if not body.strip():
        raise ApplicationError(
            ErrorCode.INVALID_FRAME, "The message is empty.", {"body": ["must not be empty"]}
        )
    limit = settings.CHATBOX_MAX_BODY_CHARS
    if len(body) > limit:
        raise ApplicationError(
            ErrorCode.TOO_LARGE,
            f"A message holds at most {limit} characters.",
            {"body": [f"at most {limit} characters"]},
        )
    return body


def _already_stored(conversation: Conversation, sender: User, client_id: uuid.UUID) -> Event | None:
    return Event.objects.filter(
        conversation=conversation, sender=sender, client_id=client_id
    ).first()


# -- conversations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user: User
    role: str


@transaction.atomic
def conversation_open(*, title: str, members: Sequence[Member]) -> Conversation:
    """A new conversation with its own data key, its members and an opening system event."""
    conversation = Conversation.objects.create(title=title)
    wrapped = crypto.data_key_wrap(
        data_key=crypto.data_key_generate(),
        conversation_id=str(conversation.pk),
        version=conversation.key_version,
    )
    ConversationKey.objects.create(
        conversation=conversation,
        version=conversation.key_version,
        kek_id=wrapped.kek_id,
        wrapped=wrapped.wrapped,
    )
    Participant.objects.bulk_create(
        Participant(conversation=conversation, user=member.user, role=member.role)
        for member in members
    )
    locked = _locked_conversation(conversation.pk)
    _append(
        conversation=locked,
        kind=Event.Kind.SYSTEM,
        sender=None,
        body="Conversation opened.",
        data={"event": "opened"},
    )
    return locked


@transaction.atomic
def system_event_post(
    *,
    conversation_id: uuid.UUID,
    body: str,
    data: dict[str, Any] | None = None,
    kind: str = Event.Kind.SYSTEM,
) -> Event:
    """Post an event of the layers above (marketplace, money, cases) into a conversation."""
    conversation = _locked_conversation(conversation_id)
    event = _append(conversation=conversation, kind=kind, sender=None, body=body, data=data)
    if kind in checkpoints.MONEY_KINDS:
        checkpoints.checkpoint_make(conversation=conversation)
    return event


@transaction.atomic
def participant_add(*, conversation_id: uuid.UUID, user: User, role: str) -> Participant:
    """Add a member to a conversation (a support mediator joining a dispute, for example);
    a member already there keeps their participation and role. The caller posts the event
    that says so: joining is visible in the chain, not only in the member list."""
    conversation = _locked_conversation(conversation_id)
    participant, _ = Participant.objects.get_or_create(
        conversation=conversation, user=user, defaults={"role": role}
    )
    return participant


# -- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    """One text message to store: what a ``send`` frame asks for."""

    conversation_id: uuid.UUID | str
    sender: User
    client_id: uuid.UUID
    body: str


def message_send(
    *, conversation_id: uuid.UUID | str, sender: User, client_id: uuid.UUID, body: str
) -> Event:
    """Store a text message; a repeated ``client_id`` returns the stored event, creating nothing."""
    (result,) = messages_send(
        requests=[
            SendRequest(
                conversation_id=conversation_id, sender=sender, client_id=client_id, body=body
            )
        ]
    )
    if isinstance(result, Exception):
        raise result
    return result


def messages_send(*, requests: Sequence[SendRequest]) -> list[Event | Exception]:
    """Store many text messages at once (group commit), each as ``message_send`` would; the
    result of each request in order: its event, or the error that refused it. A refused
    request does not hold back the others.

    The batch is one transaction whose statements do not grow with its size
    (docs/performance.md). Should it fail for a reason no check foresaw (a constraint), each
    request is stored again on its own, so that only the bad one fails."""
    try:
        return _messages_store(requests)
    except Exception:
        if len(requests) == 1:
            raise
        logger.exception("a batch of %d sends failed; storing them one by one", len(requests))
    results: list[Event | Exception] = []
    for request in requests:
        try:
            results.extend(_messages_store([request]))
        except Exception as exc:
            results.append(exc)
    return results


def _conversation_pk(conversation_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(conversation_id))
    except ValueError as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.") from exc


@transaction.atomic
def _messages_store(requests: Sequence[SendRequest]) -> list[Event | Exception]:
    """``messages_send`` in one transaction: lock every conversation of the batch, check each
    request as ``message_send`` does (body, conversation, membership, a repeated
    ``client_id``, standing, closed), append the accepted ones in order, write them with a
    handful of statements, announce each conversation's new events with their frames."""
    results: list[Event | Exception | None] = [None] * len(requests)
    wanted: dict[int, uuid.UUID] = {}
    for index, request in enumerate(requests):
        try:
            _validated_body(request.body)
            wanted[index] = _conversation_pk(request.conversation_id)
        except ApplicationError as error:
            results[index] = error
    read = batch_store.batch_read(
        conversation_ids=set(wanted.values()),
        sender_ids={request.sender.pk for request in requests},
        client_ids={request.client_id for request in requests},
    )
    conversations, participants, stored = read.conversations, read.participants, read.stored
    heads_before = {pk: conversation.head_seq for pk, conversation in conversations.items()}
    appended: dict[uuid.UUID, list[tuple[Event, dict[str, Any]]]] = {}
    readers: dict[int, Participant] = {}
    attempts: list[ContactAttempt] = []
    for index, conversation_pk in wanted.items():
        request = requests[index]
        conversation = conversations.get(conversation_pk)
        participant = participants.get((conversation_pk, request.sender.pk))
        key = (conversation_pk, request.sender.pk, request.client_id)
        try:
            if conversation is None:
                raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.")
            if participant is None:
                raise _not_member()
            if key in stored:
                results[index] = stored[key]
                continue
            sender = read.senders[request.sender.pk]
            if refusal := standing_refusal(user=sender, doing="send"):
                raise refusal
            _open_require(conversation)
        except ApplicationError as error:
            results[index] = error
            continue
        spans = contacts.scan(request.body)
        event, payload = _event_build(
            conversation=conversation,
            data_key=_data_key_unwrap(read.keys[(conversation_pk, conversation.key_version)]),
            kind=Event.Kind.TEXT,
            sender=sender,
            body=request.body,
            client_id=request.client_id,
            spans=spans,
        )
        results[index] = stored[key] = event
        appended.setdefault(conversation_pk, []).append((event, payload))
        # One's own message is read: it never counts as unread for the sender.
        participant.last_read_seq = event.seq
        readers[participant.pk] = participant
        if attempt := _contact_attempt(conversation, sender, spans, sent=True):
            attempts.append(attempt)
    if appended:
        batch_store.batch_write(
            events=[event for events in appended.values() for event, _ in events],
            heads=[(conversations[pk], heads_before[pk]) for pk in appended],
            readers=list(readers.values()),
        )
        ContactAttempt.objects.bulk_create(attempts)
        buyers = {
            key
            for key, participant in participants.items()
            if participant.role == Participant.Role.BUYER
        }
        for conversation_pk, events in appended.items():
            _text_events_publish(conversations[conversation_pk], events, buyers)
    return [result for result in results if result is not None]


def _data_key_unwrap(key: ConversationKey) -> bytes:
    return crypto.data_key_unwrap(
        wrapped=crypto.WrappedKey(key.kek_id, bytes(key.wrapped)),
        conversation_id=str(key.conversation_id),
        version=key.version,
    )


def _text_events_publish(
    conversation: Conversation,
    events: list[tuple[Event, dict[str, Any]]],
    buyers: set[tuple[uuid.UUID, int]],
) -> None:
    """Announce new text events with the ``message`` frames every member sees (the same for
    all: masking follows the conversation, cautions the sender; ``buyers`` holds the
    ``(conversation, user)`` of every buyer), and sign a checkpoint where one is due."""
    hide = masked_kinds(conversation)
    realtime.events_published(
        conversation_id=conversation.pk,
        first=events[0][0].seq,
        last=events[-1][0].seq,
        frames=[
            {
                "type": "message",
                **text_message_present(
                    event=event,
                    payload=payload,
                    hide=hide,
                    from_buyer=(conversation.pk, event.sender_id) in buyers,
                ),
            }
            for event, payload in events
        ],
    )
    for event, _ in events:
        if event.seq % checkpoints.CHECKPOINT_INTERVAL == 0:
            signed = copy.copy(conversation)
            signed.head_seq, signed.head_hash = event.seq, event.hash
            checkpoints.checkpoint_make(conversation=signed)


def _own_live_message(conversation: Conversation, user: User, seq: int) -> Event:
    target = Event.objects.filter(conversation=conversation, seq=seq).first()
    if target is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, f"There is no message {seq}.")
    if target.kind != Event.Kind.TEXT or target.sender_id != user.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "You can change only your own messages.")
    if Event.objects.filter(
        conversation=conversation, kind=Event.Kind.DELETE, target_seq=seq
    ).exists():
        raise ApplicationError(ErrorCode.NOT_FOUND, f"Message {seq} was deleted.")
    return target


@transaction.atomic
def message_edit(
    *, conversation_id: uuid.UUID | str, editor: User, client_id: uuid.UUID, seq: int, body: str
) -> Event:
    """A new ``edit`` event naming ``seq``; the original stays in the record."""
    body = _validated_body(body)
    conversation = _locked_conversation(conversation_id)
    _require_member(conversation, editor)
    if stored := _already_stored(conversation, editor, client_id):
        return stored
    _require_writer(conversation, editor)
    _own_live_message(conversation, editor, seq)
    spans = contacts.scan(body)
    event = _append(
        conversation=conversation,
        kind=Event.Kind.EDIT,
        sender=editor,
        body=body,
        client_id=client_id,
        target_seq=seq,
        data={"target": seq},
        spans=spans,
    )
    if attempt := _contact_attempt(conversation, editor, spans, sent=True):
        attempt.save()
    return event


@transaction.atomic
def message_delete(
    *, conversation_id: uuid.UUID | str, by: User, client_id: uuid.UUID, seq: int
) -> Event:
    """A new ``delete`` event naming ``seq``; the original stays in the record for evidence."""
    conversation = _locked_conversation(conversation_id)
    _require_member(conversation, by)
    if stored := _already_stored(conversation, by, client_id):
        return stored
    _require_writer(conversation, by)
    _own_live_message(conversation, by, seq)
    return _append(
        conversation=conversation,
        kind=Event.Kind.DELETE,
        sender=by,
        body="",
        client_id=client_id,
        target_seq=seq,
        data={"target": seq},
    )


# -- contact details (PROTOCOL.md §4) ----------------------------------------------------------


def _contact_attempt(
    conversation: Conversation, user: User, spans: Sequence[contacts.Span], *, sent: bool
) -> ContactAttempt | None:
    """The fraud signal (not saved yet) of a text in which something is (or would be)
    hidden; the kinds only."""
    hidden = {str(span.kind) for span in spans if span.kind in masked_kinds(conversation)}
    if not hidden:
        return None
    return ContactAttempt(user=user, conversation=conversation, kinds=sorted(hidden), sent=sent)


@dataclass(frozen=True)
class ContactCheck:
    redactions: list[dict[str, Any]]
    masked: str
    unlocked: bool  # a contract is funded: only payment details are hidden


def contact_check(*, conversation_id: uuid.UUID | str, user: User, body: str) -> ContactCheck:
    """What sending ``body`` would hide, before it is sent (the composer asks); a draft that
    would hide something is a fraud signal too."""
    body = _validated_body(body)
    conversation = _conversation_of_member(conversation_id, user)
    spans = contacts.scan(body)
    if attempt := _contact_attempt(conversation, user, spans, sent=False):
        attempt.save()
    masked, redactions = contacts.mask(body, spans, kinds=masked_kinds(conversation))
    return ContactCheck(
        redactions=redactions,
        masked=masked,
        unlocked=conversation.contacts_unlocked_at is not None,
    )


def _conversation_of_member(conversation_id: uuid.UUID | str, user: User) -> Conversation:
    try:
        conversation = Conversation.objects.get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist) as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.") from exc
    _require_member(conversation, user)
    return conversation


def conversation_contacts_unlock(*, conversation_id: uuid.UUID) -> None:
    """A contract on the conversation is funded: contact details show from now on. Once."""
    Conversation.objects.filter(pk=conversation_id, contacts_unlocked_at__isnull=True).update(
        contacts_unlocked_at=timezone.now()
    )


# -- moderation ----------------------------------------------------------------------------------


def moderation_hide(*, conversation_id: uuid.UUID, seq: int) -> None:
    """Hide an event from view. The record keeps it; the caller posts why in the chain."""
    Event.objects.filter(conversation_id=conversation_id, seq=seq, hidden_at__isnull=True).update(
        hidden_at=timezone.now()
    )


@transaction.atomic
def read_mark(*, conversation_id: uuid.UUID | str, user: User, seq: int) -> Participant:
    """Move the reader's mark forward to ``seq`` (never back) and tell the conversation."""
    conversation = _locked_conversation(conversation_id)
    participant = _require_member(conversation, user)
    if seq > conversation.head_seq:
        raise ApplicationError(
            ErrorCode.INVALID_FRAME,
            f"seq {seq} is beyond the conversation's head {conversation.head_seq}.",
            {"seq": [f"at most {conversation.head_seq}"]},
        )
    if seq > participant.last_read_seq:
        participant.last_read_seq = seq
        participant.save(update_fields=["last_read_seq"])
        realtime.publish_on_commit(
            realtime.conversation_group(conversation.pk),
            {
                "type": "chat.read",
                "conversation": str(conversation.pk),
                "user_id": user.pk,
                "seq": seq,
            },
        )
    return participant


# -- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""


def _event_problem(event: Event, *, prev: str, keys: dict[int, bytes]) -> str | None:
    """Why ``event`` does not hold as the successor of ``prev``, or None when it does."""
    if problem := _event_link_problem(event, prev=prev, keys=keys):
        return problem
    try:
        payload = event_payload(event=event, keys=keys)
    except crypto.CryptoError:
        return "the sealed body does not open"
    if payload["body"] is None:
        if event.redacted_at is None:
            return "the sealed body is empty but the event was never redacted"
    elif body_commitment(salt=bytes.fromhex(payload["salt"]), body=payload["body"]) != (
        event.body_commit
    ):
        return "the body does not match its commitment"
    document = event_document(
        conversation_id=event.conversation_id,
        seq=event.seq,
        prev=event.prev,
        kind=event.kind,
        actor=event.sender_id,
        ts=rfc3339(event.created_at),
        body=payload["body"],
        salt=payload["salt"],
        body_commit=event.body_commit,
        files=payload.get("files", []),
        data=event.data,
    )
    if event_hash(document) != event.hash:
        return "the hash does not recompute"
    return None


def _event_link_problem(event: Event, *, prev: str, keys: dict[int, bytes]) -> str | None:
    """Whether ``event`` names the event before: all that is left to check of a conversation
    shredded at the end of retention, whose sealed parts (texts, file names) no key opens."""
    if event.prev != prev:
        return "prev does not name the event before"
    return None


def conversation_chain_verify(*, conversation_id: uuid.UUID) -> ChainVerdict:
    """Recompute the conversation's chain straight from the database, naming the first bad seq.
    A shredded conversation's chain is checked link by link only."""
    conversation = Conversation.objects.get(pk=conversation_id)
    keys = data_keys(conversation_id=conversation.pk)
    check = _event_link_problem if conversation.shredded_at else _event_problem
    prev, expected = GENESIS_PREV, 1
    for event in Event.objects.filter(conversation=conversation).order_by("seq").iterator():
        if event.seq != expected:
            return ChainVerdict(
                ok=False,
                events=expected - 1,
                first_bad_seq=expected,
                reason=f"seq {expected} is missing",
            )
        if problem := check(event, prev=prev, keys=keys):
            return ChainVerdict(
                ok=False, events=expected - 1, first_bad_seq=event.seq, reason=problem
            )
        prev, expected = event.hash, expected + 1
    if conversation.head_seq != expected - 1 or conversation.head_hash != prev:
        return ChainVerdict(
            ok=False,
            events=expected - 1,
            first_bad_seq=expected - 1 or None,
            reason="the conversation's head does not match its last event",
        )
    return ChainVerdict(ok=True, events=expected - 1)


# -- keys ------------------------------------------------------------------------------------


@transaction.atomic
def data_keys_rewrap(*, ring: crypto.KeyRing | None = None) -> int:
    """Re-wrap every conversation's data key with the ring's primary master key.

    Only the small wrapped keys change; message ciphertexts stay as they are.
    """
    ring = ring or crypto.key_ring()
    count = 0
    for key in ConversationKey.objects.select_for_update().order_by("pk"):
        data_key = crypto.data_key_unwrap(
            wrapped=crypto.WrappedKey(key.kek_id, bytes(key.wrapped)),
            conversation_id=str(key.conversation_id),
            version=key.version,
        )
        rewrapped = crypto.data_key_wrap(
            data_key=data_key,
            conversation_id=str(key.conversation_id),
            version=key.version,
            ring=ring,
        )
        key.kek_id, key.wrapped = rewrapped.kek_id, rewrapped.wrapped
        key.save(update_fields=["kek_id", "wrapped"])
        count += 1
    return count


@transaction.atomic
def sealed_files_rewrap(*, ring: crypto.KeyRing | None = None) -> int:
    """Re-wrap the data key of every sealed file (``SealedFile``) that is not yet wrapped by
    the ring's primary master key. Files of every app are found through the app registry."""
    ring = ring or crypto.key_ring()
    count = 0
    for model in apps.get_models():
        if not issubclass(model, SealedFile):
            continue
        stale = model._default_manager.filter(wrapped_key__isnull=False).exclude(
            kek_id=ring.primary.id
        )
        for row in stale.select_for_update().order_by("pk"):
            row.file_rewrap(ring)
            row.save(update_fields=["kek_id", "wrapped_key"])
            count += 1
    return count


# -- presence --------------------------------------------------------------------------------


def _fresh_after() -> datetime:
    return timezone.now() - timedelta(seconds=settings.CHATBOX_PRESENCE_TTL_SECONDS)


def _presence_publish(
    *, user_id: int, online: bool, conversation_ids: Iterable[uuid.UUID] | None = None
) -> None:
    """Tell the user's conversations (read here unless given) that they are on- or offline."""
    if conversation_ids is None:
        conversation_ids = socket_store.conversation_ids_of(user_id)
    for conversation_id in conversation_ids:
        realtime.publish_on_commit(
            realtime.conversation_group(conversation_id),
            {"type": "chat.presence", "user_id": user_id, "online": online},
        )


def connection_open(*, user_id: int, channel_name: str) -> User | None:
    """The user as stored now, and their socket recorded unless they are gone or banned; the
    user's first socket tells their conversations they are online. One round trip on
    PostgreSQL (``chatbox.socket_store``)."""
    opened = socket_store.socket_open(
        user_id=user_id, channel_name=channel_name, now=timezone.now(), fresh_after=_fresh_after()
    )
    if opened.conversation_ids and not opened.was_online:
        _presence_publish(user_id=user_id, online=True, conversation_ids=opened.conversation_ids)
    return opened.user


def connection_seen(*, channel_name: str) -> None:
    Connection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def connection_close(*, channel_name: str) -> None:
    """Forget a socket; the user's last one tells their conversations they went offline."""
    closed = socket_store.socket_close(channel_name=channel_name, fresh_after=_fresh_after())
    if closed is not None and not closed.still_online:
        _presence_publish(
            user_id=closed.user_id, online=False, conversation_ids=closed.conversation_ids
        )


def connections_expire() -> int:
    """Forget sockets not seen within the presence TTL — their process stopped without closing
    them — and tell the conversations of each user left with no fresh socket that they went
    offline. A scheduled task (``chatbox.tasks.connections_expire``); returns the users told."""
    told = 0
    stale = Connection.objects.filter(seen_at__lt=_fresh_after())
    for user_id in set(stale.values_list("user_id", flat=True)):
        with transaction.atomic():
            # Per user, under the user's rows' lock: a socket opening now is either seen here
            # (and nobody is told) or opens after the delete (and announces itself).
            rows = Connection.objects.select_for_update().filter(user_id=user_id)
            fresh = [row for row in rows if row.seen_at >= _fresh_after()]
            Connection.objects.filter(user_id=user_id, seen_at__lt=_fresh_after()).delete()
            if not fresh:
                _presence_publish(user_id=user_id, online=False)
                told += 1
    return told
