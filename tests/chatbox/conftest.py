"""The people and the conversation most chat tests start from."""

from __future__ import annotations

import pytest

from accounts.models import User
from chatbox.models import Conversation
from tests.factories import UserFactory, conversation_between


@pytest.fixture
def buyer() -> User:
    return UserFactory(username="buyer", display_name="Bea Buyer")


@pytest.fixture
def provider() -> User:
    return UserFactory(username="provider", display_name="Pat Provider")


@pytest.fixture
def outsider() -> User:
    return UserFactory(username="outsider", display_name="Oz Outsider")


@pytest.fixture
def conversation(buyer: User, provider: User) -> Conversation:
    return conversation_between(buyer, provider)
