"""The track record: reviews once per party after a contract ends, performance figures from a
known history, and endorsements asked for by an e-mailed link that works once."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from accounts.models import User
from chatbox.errors import ApplicationError
from chatbox.models import Event
from chatbox.services import message_send, system_event_post
from projects import contracts, track_record
from projects.models import Contract, Endorsement, Milestone, Review
from projects.track_record import Performance, performance_of, reviews_of
from tests.factories import UserFactory
from tests.projects.deals import contract_of, error, market_state
from tests.projects.market import buyer, client_of, post, provider

pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def ended(contract: Contract, *, by: User, outcome: str = "completed") -> Contract:
    return contracts.contract_end(user=by, contract_id=contract.pk, outcome=outcome)


# -- reviews -----------------------------------------------------------------------------------


def test_a_review_waits_for_the_end_of_the_contract(taxonomy: None) -> None:
    # given an active contract
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    before = market_state()
    # when the buyer reviews it
    response = post(client_of(bea), f"/api/contracts/{contract.pk}/reviews/", {"rating": 5})
    # then
    assert response.status_code == 409
    assert response.json() == error("contract_active", "Reviews open when the contract has ended.")
    assert market_state() == before


@pytest.mark.parametrize("outcome", ["completed", "cancelled"])
def test_each_party_reviews_the_other_once_after_the_end(taxonomy: None, outcome: str) -> None:
    # given a contract the buyer ended
    bea, pia = buyer(), provider()
    contract = ended(contract_of(bea, pia), by=bea, outcome=outcome)
    url = f"/api/contracts/{contract.pk}/reviews/"
    # when each party reviews the other
    by_buyer = post(client_of(bea), url, {"rating": 5, "text": " Lovely logo. "})
    by_provider = post(client_of(pia), url, {"rating": 4})
    # then
    assert (by_buyer.status_code, by_provider.status_code) == (201, 201)
    review = Review.objects.get(author=bea)
    assert by_buyer.json() == {
        "id": review.pk,
        "contract": contract.pk,
        "subject": pia.pk,
        "rating": 5,
        "text": "Lovely logo.",
        "created_at": review.created_at.isoformat(),
    }
    assert sorted(Review.objects.values_list("author", "subject", "rating")) == sorted(
        [(bea.pk, pia.pk, 5), (pia.pk, bea.pk, 4)]
    )
    # and a second review by either is refused
    before = market_state()
    for party in (bea, pia):
        again = post(client_of(party), url, {"rating": 1})
        assert again.status_code == 409
        assert again.json() == error("already_reviewed", "You have reviewed this contract already.")
    assert market_state() == before


@pytest.mark.parametrize(
    ("rating", "message"),
    [
        (0, "Ensure this value is greater than or equal to 1."),
        (6, "Ensure this value is less than or equal to 5."),
        (-3, "Ensure this value is greater than or equal to 1."),
        (4.5, "A valid integer is required."),
        ("five", "A valid integer is required."),
        (None, "This field may not be null."),
    ],
)
def test_a_rating_is_1_to_5(taxonomy: None, rating: Any, message: str) -> None:
    # given an ended contract
    bea, pia = buyer(), provider()
    contract = ended(contract_of(bea, pia), by=bea)
    before = market_state()
    # when
    response = post(client_of(bea), f"/api/contracts/{contract.pk}/reviews/", {"rating": rating})
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", "The request is not valid.", {"rating": [message]})
    assert market_state() == before


def test_the_review_service_refuses_a_rating_out_of_range(taxonomy: None) -> None:
    # given an ended contract
    bea, pia = buyer(), provider()
    contract = ended(contract_of(bea, pia), by=bea)
    # when the service is called directly with 6
    with pytest.raises(ApplicationError) as refused:
        track_record.review_write(author=bea, contract_id=contract.pk, rating=6)
    # then
    assert (refused.value.code, refused.value.extra) == (
        "invalid",
        {"rating": ["Rate from 1 to 5."]},
    )
    assert not Review.objects.exists()


def test_reviews_of_a_member_are_those_written_of_it_newest_first(taxonomy: None) -> None:
    # given two ended contracts of pia with bea, each reviewed by both
    bea, pia = buyer(), provider()
    first = ended(contract_of(bea, pia, title="Logo"), by=bea)
    second = ended(contract_of(bea, pia, title="Sign"), by=bea)
    track_record.review_write(author=bea, contract_id=first.pk, rating=4, text="Good.")
    track_record.review_write(author=pia, contract_id=first.pk, rating=5, text="Clear brief.")
    track_record.review_write(author=bea, contract_id=second.pk, rating=2, text="Late.")
    # when
    of_pia = reviews_of(user=pia)
    # then
    assert [(r.author, r.rating, r.text, r.contract.title) for r in of_pia] == [
        (bea, 2, "Late.", "Sign"),
        (bea, 4, "Good.", "Logo"),
    ]
    assert [(r.author, r.rating) for r in reviews_of(user=bea)] == [(pia, 5)]


# -- performance -------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def said_at(contract: Contract, sender: User, moment: str) -> Event:
    """A chat message sent at ``moment``. The service stamps the present time; the test moves
    ``created_at`` afterwards (so this conversation's chain no longer verifies: the time is
    part of each event's hash — performance figures read only the metadata)."""
    event = message_send(
        conversation_id=contract.engagement.conversation_id,
        sender=sender,
        client_id=uuid.uuid4(),
        body="…",
    )
    Event.objects.filter(pk=event.pk).update(created_at=at(moment))
    return event


def delivered_at(contract: Contract, title: str, moment: str) -> None:
    """Delivered through the service, then dated (the service stamps the present time)."""
    milestone = contract.milestones.get(title=title)
    contracts.milestone_deliver(
        provider=contract.provider, contract_id=contract.pk, milestone_id=milestone.pk
    )
    Milestone.objects.filter(pk=milestone.pk).update(delivered_at=at(moment))


def test_performance_figures_come_from_the_known_history(taxonomy: None) -> None:
    # given pia's four contracts as provider with bea, and one as buyer with pat
    bea = buyer("bea")
    pia = UserFactory(username="pia", is_provider=True, is_buyer=True)
    pat = provider("pat")
    logo = contract_of(
        bea,
        pia,
        title="Logo",
        milestones=[("Sketches", 15000, date(2025, 3, 10)), ("Files", 30000, date(2025, 3, 20))],
    )
    sign = contract_of(bea, pia, title="Sign", milestones=[("Sign", 45000, date(2025, 4, 1))])
    menu = contract_of(
        bea,
        pia,
        title="Menu",
        milestones=[("Menu", 20000, None), ("Print", 25000, date(2025, 5, 1))],
    )
    flyer = contract_of(bea, pia, title="Flyer", milestones=[("Flyer", 45000, date(2025, 6, 10))])
    as_buyer = contract_of(pia, pat, title="Pia's own site")
    # milestones: two on time, one late, one on time on its due day (late evening, UTC), one
    # without a due date (not counted), one never delivered, and one on time on the active one
    delivered_at(logo, "Sketches", "2025-03-09T17:00")
    delivered_at(logo, "Files", "2025-03-21T09:00")
    delivered_at(sign, "Sign", "2025-04-01T23:30")
    delivered_at(menu, "Menu", "2025-04-20T10:00")
    delivered_at(flyer, "Flyer", "2025-06-09T12:00")
    # two completed, one withdrawn by pia, one still running; pia's own as buyer, completed
    ended(logo, by=pia)
    ended(sign, by=bea)
    ended(menu, by=pia, outcome="withdrawn")
    ended(as_buyer, by=pia)
    # ratings of pia as provider: 5, 4, 2; of pia as buyer (not counted): 1; of bea: 1
    track_record.review_write(author=bea, contract_id=logo.pk, rating=5)
    track_record.review_write(author=bea, contract_id=sign.pk, rating=4)
    track_record.review_write(author=bea, contract_id=menu.pk, rating=2)
    track_record.review_write(author=pat, contract_id=as_buyer.pk, rating=1)
    track_record.review_write(author=pia, contract_id=logo.pk, rating=1)
    # a dispute in the running contract's chat (disputes are posted by the cases layer)
    system_event_post(
        conversation_id=flyer.engagement.conversation_id,
        body="Bea opened a dispute.",
        kind=Event.Kind.DISPUTE,
    )
    # the chats: replies after 30 (to the first of two waiting messages), 10, 90 and 20
    # minutes; a reply after 8 days is no response; pia's own messages start nothing
    said_at(logo, bea, "2025-03-01T09:00")
    said_at(logo, bea, "2025-03-01T09:05")
    said_at(logo, pia, "2025-03-01T09:30")
    said_at(logo, pia, "2025-03-01T09:31")
    said_at(logo, bea, "2025-03-02T10:00")
    said_at(logo, pia, "2025-03-02T10:10")
    said_at(sign, pia, "2025-03-25T08:00")
    said_at(sign, bea, "2025-03-25T12:00")
    said_at(sign, pia, "2025-04-02T12:00")
    said_at(sign, bea, "2025-04-03T09:00")
    said_at(sign, pia, "2025-04-03T10:30")
    said_at(flyer, bea, "2025-06-01T09:00")
    said_at(flyer, pia, "2025-06-01T09:20")
    # and, as a buyer, pia answers her provider after 1000 minutes: not a provider's response
    said_at(as_buyer, pat, "2025-07-01T09:00")
    said_at(as_buyer, pia, "2025-07-02T01:40")
    # when
    figures = performance_of(provider=pia)
    # then
    assert figures == Performance(
        contracts_ended=3,
        completion_rate=0.6667,  # 2 completed / 3 ended
        on_time_rate=0.75,  # Sketches, Sign, Flyer on time / 4 delivered with a due date
        median_response_minutes=25.0,  # median of 10, 20, 30, 90
        dispute_rate=0.25,  # 1 disputed / 4 contracts
        average_rating=3.67,  # (5 + 4 + 2) / 3
        reviews=3,
    )


def test_a_provider_without_a_record_has_no_figures(taxonomy: None) -> None:
    # given
    pia = provider()
    # when
    figures = performance_of(provider=pia)
    # then
    assert figures == Performance(
        contracts_ended=0,
        completion_rate=None,
        on_time_rate=None,
        median_response_minutes=None,
        dispute_rate=None,
        average_rating=None,
        reviews=0,
    )


# -- endorsements ------------------------------------------------------------------------------

ASK = {"name": "Carla Client", "email": "carla@example.com", "relationship": "client"}
LINK = re.compile(r"http://testserver/endorse/([A-Za-z0-9_-]+)/")


def asked(
    pia: User, capture: Capture, mailoutbox: list[EmailMessage], body: dict[str, Any] = ASK
) -> str:
    """pia asks for an endorsement; returns the token of the e-mailed link."""
    with capture(execute=True):
        response = post(client_of(pia), "/api/profiles/me/endorsements/", body)
    assert response.status_code == 201, response.json()
    match = LINK.search(str(mailoutbox[-1].body))
    assert match is not None
    return match.group(1)


def test_asking_for_an_endorsement_mails_a_link_whose_token_is_stored_hashed(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
) -> None:
    # given
    pia = provider()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_of(pia), "/api/profiles/me/endorsements/", ASK)
    # then
    assert response.status_code == 201, response.json()
    endorsement = Endorsement.objects.get()
    assert response.json() == {
        "id": endorsement.pk,
        "name": "Carla Client",
        "email": "carla@example.com",
        "relationship": "client",
        "requested_at": endorsement.requested_at.isoformat(),
    }
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert (message.to, message.subject) == (["carla@example.com"], "Pia asks for your endorsement")
    match = LINK.search(str(message.body))
    assert match is not None
    token = match.group(1)
    assert str(message.body) == (
        "Hello Carla Client,\n\nPia asks you, as a past client, for a few words about their "
        f"work, to show on their profile.\n\nWrite them here: http://testserver/endorse/{token}/"
        "\n\nIf you do not know Pia, ignore this e-mail."
    )
    # only the token's hash is stored, nowhere the token itself
    assert endorsement.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = Endorsement.objects.filter(pk=endorsement.pk).values().get()
    assert [column for column, value in stored.items() if token in str(value)] == []
    assert (endorsement.given_at, endorsement.text) == (None, "")


def test_the_link_works_once_through_the_api(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
) -> None:
    # given a request for an endorsement
    pia = provider()
    token = asked(pia, django_capture_on_commit_callbacks, mailoutbox)
    endorser = Client()
    # when the endorser reads and writes, without an account
    read = endorser.get(f"/api/endorsements/{token}/")
    written = post(
        endorser, f"/api/endorsements/{token}/", {"text": " Pia's logo doubled our sales. "}
    )
    # then
    endorsement = Endorsement.objects.get()
    assert read.json() == {
        "provider": {"id": pia.pk, "name": "Pia"},
        "name": "Carla Client",
        "relationship": "client",
        "given": False,
    }
    assert written.status_code == 200
    assert endorsement.given_at is not None
    assert written.json() == {
        "provider": {"id": pia.pk, "name": "Pia"},
        "text": "Pia's logo doubled our sales.",
        "given_at": endorsement.given_at.isoformat(),
    }
    assert list(track_record.endorsements_of(provider=pia)) == [endorsement]
    # and the link does not work a second time
    before = market_state()
    again = post(endorser, f"/api/endorsements/{token}/", {"text": "Changed my mind."})
    assert again.status_code == 409
    assert again.json() == error("already_endorsed", "This endorsement is written.")
    assert market_state() == before
    assert endorser.get(f"/api/endorsements/{token}/").json()["given"] is True


def test_the_link_works_once_through_the_web_page(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
) -> None:
    # given a request for an endorsement
    pia = provider()
    token = asked(pia, django_capture_on_commit_callbacks, mailoutbox)
    endorser = Client()
    # when the endorser opens the page and sends the form
    page = endorser.get(f"/endorse/{token}/")
    sent = endorser.post(f"/endorse/{token}/", {"text": "A pleasure to work with."})
    # then
    assert page.status_code == 200
    assert 'name="text"' in page.content.decode()
    assert sent.status_code == 200
    assert "Thank you" in sent.content.decode()
    endorsement = Endorsement.objects.get()
    assert endorsement.text == "A pleasure to work with."
    # and once written, the page shows it and takes nothing more, nor does the API
    before = market_state()
    again = endorser.post(f"/endorse/{token}/", {"text": "Changed my mind."})
    assert again.status_code == 200
    assert 'name="text"' not in again.content.decode()
    assert post(endorser, f"/api/endorsements/{token}/", {"text": "Again."}).status_code == 409
    assert market_state() == before


def test_an_empty_endorsement_is_refused_on_the_page(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
) -> None:
    # given
    token = asked(provider(), django_capture_on_commit_callbacks, mailoutbox)
    before = market_state()
    # when
    page = Client().post(f"/endorse/{token}/", {"text": "   "})
    # then
    assert page.status_code == 400
    assert "Write a few words." in page.content.decode()
    assert market_state() == before


def test_an_unknown_token_is_404_on_the_page(taxonomy: None) -> None:
    # when
    page = Client().get("/endorse/not-a-token/")
    # then
    assert page.status_code == 404


@pytest.mark.parametrize("email", ["carla@example.com", " Carla@Example.COM "])
def test_asking_the_same_person_twice_is_409_and_sends_nothing(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
    email: str,
) -> None:
    # given a request to carla
    pia = provider()
    asked(pia, django_capture_on_commit_callbacks, mailoutbox)
    before = market_state()
    # when pia asks her again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client_of(pia), "/api/profiles/me/endorsements/", {**ASK, "email": email})
    # then
    assert response.status_code == 409
    assert response.json() == error("already_endorsed", "You have asked this person already.")
    assert market_state() == before
    assert (callbacks, len(mailoutbox)) == ([], 1)


def test_a_provider_cannot_endorse_itself(
    taxonomy: None,
    django_capture_on_commit_callbacks: Capture,
    mailoutbox: list[EmailMessage],
) -> None:
    # given
    pia = UserFactory(username="pia", is_provider=True, email="pia@example.com")
    before = market_state()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client_of(pia), "/api/profiles/me/endorsements/", {**ASK, "email": "PIA@example.com"}
        )
    # then
    assert response.status_code == 400
    assert response.json() == error(
        "invalid", "The request is not valid.", {"email": ["Ask someone else than yourself."]}
    )
    assert market_state() == before
    assert mailoutbox == []
