"""Test data: people, and conversations between them made through the real services."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from accounts.services import terms_accept
from chatbox.models import Conversation, Participant
from chatbox.services import Member, conversation_open

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda user: user.username.title())
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def terms_accepted(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        """Accept the current Terms unless ``terms_accepted=False`` is given."""
        if create and extracted is not False:
            terms_accept(user=self)


def conversation_between(
    buyer: User, provider: User, *, title: str = "Logo design"
) -> Conversation:
    return conversation_open(
        title=title,
        members=[
            Member(buyer, Participant.Role.BUYER),
            Member(provider, Participant.Role.PROVIDER),
        ],
    )
