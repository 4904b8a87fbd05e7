"""Help: any member opens a conversation with the support team, from any page.

The conversation is a chatbox like any other; its other party is the team, not a person: a
``help`` case in the support queue stands for it. A staff member who answers from the console
joins the conversation (visibly, role ``support``) and writes as themselves. A member has one
open help conversation at a time; asking again returns it.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Conversation, Event, Participant
from chatbox.services import (
    Member,
    conversation_open,
    message_send,
    participant_add,
    system_event_post,
)
from reports.cases import case_for_staff
from reports.models import Case, Reason


def help_case_of(*, user: User) -> Case | None:
    return Case.objects.filter(kind=Case.Kind.HELP, subject=user, status=Case.Status.OPEN).first()


@transaction.atomic
def help_conversation_open(*, user: User) -> Conversation:
    """The member's open help conversation with the support team, made if there is none."""
    if user.is_staff_member:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Support staff answer help requests.")
    User.objects.select_for_update().get(pk=user.pk)  # one at a time per member
    if (case := help_case_of(user=user)) is not None:
        assert case.conversation is not None
        return case.conversation
    conversation = conversation_open(
        title=f"Help: {user.name}", members=[Member(user=user, role=Participant.Role.MEMBER)]
    )
    system_event_post(
        conversation_id=conversation.pk,
        body="You are talking to the support team. Someone will answer here soon.",
        data={"event": "help_opened"},
    )
    try:
        with transaction.atomic():
            Case.objects.create(
                kind=Case.Kind.HELP,
                target_type=Case.TargetType.CONVERSATION,
                target_key=f"help:{conversation.pk}",
                conversation=conversation,
                subject=user,
                reason=Reason.OTHER,
            )
    except IntegrityError as exc:  # cannot happen under the member's row lock
        raise RuntimeError("two help cases for one conversation") from exc
    return conversation


@transaction.atomic
def help_reply(*, staff: User, case_id: int, client_id: uuid.UUID, body: str) -> Event:
    """A staff member answers a help request from the console: they join the conversation
    the first time (the chain says so), then write in it as themselves. ``client_id`` makes a
    repeated answer (a form sent twice) one message."""
    case = case_for_staff(staff=staff, case_id=case_id)
    if case.kind != Case.Kind.HELP or case.conversation_id is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such help request.")
    if not case.is_open:
        raise ApplicationError(ErrorCode.CLOSED, "This help request is closed.")
    joined = Participant.objects.filter(conversation_id=case.conversation_id, user=staff).exists()
    if not joined:
        participant_add(
            conversation_id=case.conversation_id, user=staff, role=Participant.Role.SUPPORT
        )
        system_event_post(
            conversation_id=case.conversation_id,
            body=f"{staff.name} from the support team joined.",
            data={"event": "support_joined", "user": staff.pk},
        )
    return message_send(
        conversation_id=case.conversation_id,
        sender=staff,
        client_id=client_id,
        body=body,
    )
