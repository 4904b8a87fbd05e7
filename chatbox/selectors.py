"""Every read of the chatbox that needs a permission check goes through here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Connection, Conversation, Event, Participant

# Kinds that count as unread: what another person said or did, not bookkeeping.
UNREAD_KINDS = [
    Event.Kind.TEXT,
    Event.Kind.FILE,
    Event.Kind.INVOICE,
    Event.Kind.PAYMENT,
    Event.Kind.DISPUTE,
]


def membership(*, user: User, conversation_id: uuid.UUID | str) -> Participant:
    """The user's participation, or ``not_found`` / ``not_member``."""
    try:
        conversation_uuid = uuid.UUID(str(conversation_id))
    except ValueError as exc:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.") from exc
    participant = (
        Participant.objects.select_related("conversation")
        .filter(conversation_id=conversation_uuid, user=user)
        .first()
    )
    if participant is not None:
        return participant
    if Conversation.objects.filter(pk=conversation_uuid).exists():
        raise ApplicationError(ErrorCode.NOT_MEMBER, "You are not a member of this conversation.")
    raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.")


def conversation_for_member(*, user: User, conversation_id: uuid.UUID | str) -> Conversation:
    return membership(user=user, conversation_id=conversation_id).conversation


@dataclass(frozen=True)
class ParticipantInfo:
    id: int
    name: str
    role: str
    last_read_seq: int


@dataclass(frozen=True)
class ConversationSummary:
    id: uuid.UUID
    title: str
    participants: list[ParticipantInfo]
    unread: int
    last_activity: datetime | None
    head_seq: int


def _unread_count() -> Count:
    return Count(
        "conversation__events",
        filter=Q(conversation__events__seq__gt=F("last_read_seq"))
        & Q(conversation__events__kind__in=UNREAD_KINDS)
        & ~Q(conversation__events__sender=F("user")),
    )


def _summaries(participations: list[Participant]) -> list[ConversationSummary]:
    return [
        ConversationSummary(
            id=mine.conversation.pk,
            title=mine.conversation.title,
            participants=[
                ParticipantInfo(
                    id=p.user.pk, name=p.user.name, role=p.role, last_read_seq=p.last_read_seq
                )
                for p in mine.conversation.participants.all()
            ],
            unread=getattr(mine, "unread", 0),
            last_activity=mine.conversation.last_activity_at,
            head_seq=mine.conversation.head_seq,
        )
        for mine in participations
    ]


def _participations(user: User, **only: Any) -> list[Participant]:
    return list(
        Participant.objects.filter(user=user, **only)
        .select_related("conversation")
        .prefetch_related(
            Prefetch(
                "conversation__participants",
                queryset=Participant.objects.select_related("user").order_by("pk"),
            )
        )
        .annotate(unread=_unread_count())
        .order_by(F("conversation__last_activity_at").desc(nulls_last=True), "pk")
    )


def conversation_summaries_for_user(*, user: User) -> list[ConversationSummary]:
    """The user's conversations, most recently active first, with unread counts."""
    return _summaries(_participations(user))


def conversation_summary(*, user: User, conversation: Conversation) -> ConversationSummary:
    summaries = _summaries(_participations(user, conversation=conversation))
    if not summaries:
        raise ApplicationError(ErrorCode.NOT_MEMBER, "You are not a member of this conversation.")
    return summaries[0]


def events_after(
    *, conversation_id: uuid.UUID, after: int, limit: int, until: int | None = None
) -> list[Event]:
    events = Event.objects.filter(conversation_id=conversation_id, seq__gt=after)
    if until is not None:
        events = events.filter(seq__lte=until)
    return list(events.select_related("sender").order_by("seq")[:limit])


def events_before(*, conversation_id: uuid.UUID, before: int | None, limit: int) -> list[Event]:
    """The ``limit`` events just before ``before`` (the latest without it), oldest first."""
    events = Event.objects.filter(conversation_id=conversation_id)
    if before is not None:
        events = events.filter(seq__lt=before)
    latest = list(events.select_related("sender").order_by("-seq")[:limit])
    return latest[::-1]


def online_user_ids(*, conversation_id: uuid.UUID) -> set[int]:
    fresh_after = timezone.now() - timedelta(seconds=settings.CHATBOX_PRESENCE_TTL_SECONDS)
    members = Participant.objects.filter(conversation_id=conversation_id).values("user_id")
    return set(
        Connection.objects.filter(user_id__in=members, seen_at__gte=fresh_after)
        .values_list("user_id", flat=True)
        .distinct()
    )


def read_marks(*, conversation_id: uuid.UUID) -> dict[int, int]:
    return dict(
        Participant.objects.filter(conversation_id=conversation_id).values_list(
            "user_id", "last_read_seq"
        )
    )
