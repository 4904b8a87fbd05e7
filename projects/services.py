from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Participant
from chatbox.services import Member, conversation_open
from projects.models import Engagement, Project


@transaction.atomic
def project_create(*, buyer: User, title: str, description: str = "") -> Project:
    return Project.objects.create(buyer=buyer, title=title, description=description)


def engagement_open(*, project: Project, provider: User) -> Engagement:
    """The engagement of ``provider`` on ``project``, opened with its conversation on first contact.

    Two opens at the same moment give one engagement: the unique constraint lets one insert
    win, and the loser's transaction (with the conversation it made) rolls back.
    """
    if provider.pk == project.buyer_id:
        raise ApplicationError(ErrorCode.INVALID, "A buyer cannot engage on their own project.")
    existing = Engagement.objects.filter(project=project, provider=provider).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = conversation_open(
                title=project.title,
                members=[
                    Member(project.buyer, Participant.Role.BUYER),
                    Member(provider, Participant.Role.PROVIDER),
                ],
            )
            return Engagement.objects.create(
                project=project, buyer=project.buyer, provider=provider, conversation=conversation
            )
    except IntegrityError:
        return Engagement.objects.get(project=project, provider=provider)
