from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import User
from chatbox.errors import ApplicationError
from chatbox.models import Conversation, Event, Participant
from projects.models import Contract, Engagement, Proposal
from projects.services import engagement_open, project_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_first_contact_opens_one_engagement_with_its_conversation() -> None:
    # given
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    project = project_create(buyer=buyer, title="Bakery logo")
    # when contact is made twice
    first = engagement_open(project=project, provider=provider)
    again = engagement_open(project=project, provider=provider)
    # then
    assert again.pk == first.pk
    assert Conversation.objects.count() == 1
    assert first.conversation.title == "Bakery logo"
    assert dict(
        Participant.objects.filter(conversation=first.conversation).values_list(
            "user__username", "role"
        )
    ) == {"buyer": "buyer", "provider": "provider"}


def test_a_buyer_cannot_engage_on_their_own_project() -> None:
    buyer = UserFactory(username="buyer")
    project = project_create(buyer=buyer, title="Bakery logo")
    with pytest.raises(ApplicationError):
        engagement_open(project=project, provider=buyer)
    assert Engagement.objects.count() == 0
    assert Conversation.objects.count() == 0


def seed(*args: str) -> dict:
    out = StringIO()
    call_command("seed_demo", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_is_idempotent_and_prints_the_protocol_shape() -> None:
    # given / when seeded twice with a password
    first = seed("--password", "pw-one")
    second = seed("--password", "pw-two")
    # then the same people, project and conversation, with the latest password
    assert set(first["users"]) == {"buyer", "provider", "support", "outsider"}
    assert second["project"] == first["project"]
    assert second["conversation"] == first["conversation"]
    assert second["contract"] == first["contract"]
    assert {name: u["id"] for name, u in second["users"].items()} == {
        name: u["id"] for name, u in first["users"].items()
    }
    assert second["users"]["buyer"] == {
        "id": first["users"]["buyer"]["id"],
        "username": "buyer",
        "password": "pw-two",
    }
    assert authenticate(username="provider", password="pw-two") is not None
    assert User.objects.count() == 4
    assert Engagement.objects.count() == 1
    assert User.objects.get(username="support").is_support
    conversation = Conversation.objects.get()
    assert str(conversation.pk) == first["conversation"]["id"]
    assert set(conversation.participants.values_list("user__username", flat=True)) == {
        "buyer",
        "provider",
    }
    # and one unfunded contract between them on that conversation, its events in the chat
    contract = Contract.objects.get()
    assert contract.pk == first["contract"]["id"]
    assert (contract.buyer.username, contract.provider.username) == ("buyer", "provider")
    assert contract.engagement.conversation_id == conversation.pk
    assert [m.amount for m in contract.milestones.all()] == [50000, 70000]
    assert Proposal.objects.get().costs_bid is False  # invited: the demo spends no bid
    started = Event.objects.filter(conversation=conversation, data__event="contract_started")
    assert started.count() == 1


def test_seed_demo_without_password_makes_one_and_keeps_it_on_rerun() -> None:
    # given a first seed that makes random passwords
    first = seed()
    password = first["users"]["buyer"]["password"]
    assert password
    # when seeded again without --password
    second = seed()
    # then the passwords are left as they were
    assert second["users"]["buyer"]["password"] is None
    assert authenticate(username="buyer", password=password) is not None
