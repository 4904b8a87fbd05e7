"""Providers are cautioned, with the reason, on listings and messages that look like the usual
scams: pay far above the category's norm for little work, free samples or trials asked, a new
unverified buyer pushing to move off the platform. Ordinary listings and messages get none."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chatbox.cautions import FREE_WORK_ASKED, NEW_BUYER_OFF_PLATFORM
from chatbox.models import Conversation
from chatbox.presenters import messages_present
from chatbox.services import message_send
from projects.cautions import FAR_ABOVE_NORM
from projects.listings import Budget, project_post
from tests.factories import conversation_between
from tests.invoices.snapshot import buyer_of, client_of, provider_of

pytestmark = pytest.mark.django_db


def listing(buyer: User, description: str, amount: int = 50000) -> int:
    return project_post(
        buyer=buyer,
        title="Logo",
        description=description,
        category="design",
        skills=["logo-design"],
        budget=Budget(amount=amount, currency="EUR"),
    ).pk


def cautions_of(project_id: int) -> list[str]:
    """The cautions a provider is shown on the listing."""
    viewer = User.objects.filter(username="pia").first() or provider_of("pia")
    answer = client_of(viewer).get(f"/api/projects/{project_id}/")
    assert answer.status_code == 200
    cautions: list[str] = answer.json()["cautions"]
    return cautions


def established(user: User) -> User:
    User.objects.filter(pk=user.pk).update(
        date_joined=timezone.now() - timedelta(days=365), phone_verified_at=timezone.now()
    )
    user.refresh_from_db()
    return user


def test_an_ordinary_listing_has_no_caution(taxonomy: None) -> None:
    bea = established(buyer_of("bea"))
    assert cautions_of(listing(bea, "A logo for my bakery, vector files please.")) == []


def test_pay_far_above_the_norm_for_little_work_is_cautioned(taxonomy: None) -> None:
    bea = established(buyer_of("bea"))
    for n in range(5):
        listing(bea, f"A logo, brief {n}", amount=40000 + n)
    assert cautions_of(listing(bea, "Easy job.", amount=1_000_000)) == [FAR_ABOVE_NORM]
    # a long, detailed brief at that price is not "little work"
    assert cautions_of(listing(bea, "Full brand system. " * 20, amount=1_000_000)) == []


def test_free_samples_and_new_buyers_pushing_off_platform_are_cautioned(taxonomy: None) -> None:
    new = buyer_of("nina")  # joined now, nothing verified
    project = listing(new, "Send a free sample first. Then text me on whatsapp +44 7700 900123")
    assert cautions_of(project) == [FREE_WORK_ASKED, NEW_BUYER_OFF_PLATFORM]
    # the same listing by an established, verified buyer only asks for free work
    old = established(buyer_of("olga"))
    project = listing(old, "Send a free sample first. Then text me on whatsapp +44 7700 900123")
    assert cautions_of(project) == [FREE_WORK_ASKED]


def test_a_new_buyers_message_pushing_off_platform_carries_a_caution() -> None:
    nina, pia = buyer_of("nina"), provider_of("pia")
    conversation: Conversation = conversation_between(nina, pia)
    pushed = message_send(
        conversation_id=conversation.pk,
        sender=nina,
        client_id=uuid.uuid4(),
        body="let's continue off the platform, cheaper for both",
    )
    fine = message_send(
        conversation_id=conversation.pk,
        sender=pia,
        client_id=uuid.uuid4(),
        body="let's continue off the platform, cheaper for both",
    )
    pushed_shown, fine_shown = messages_present(
        conversation_id=conversation.pk, events=[pushed, fine]
    )
    assert pushed_shown["data"]["cautions"] == [NEW_BUYER_OFF_PLATFORM]
    assert "cautions" not in fine_shown["data"]  # a provider's message is not cautioned
