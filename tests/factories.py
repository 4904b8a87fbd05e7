"""Test data: people, and conversations between them made through the real services."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from chatbox.models import Conversation, Participant
from chatbox.services import Member, conversation_open

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda user: user.username.title())
    password = factory.django.Password(PASSWORD)


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
