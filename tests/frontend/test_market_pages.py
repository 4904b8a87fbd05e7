"""The marketplace's pages through Django's test client: each page for the right role and
refused to others, forms that change what they should, and bad input shown again with its
errors while nothing is stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User
from accounts.services import user_ban
from chatbox.models import Event
from projects import contracts, listings
from projects.models import (
    BidAllowance,
    Contract,
    Endorsement,
    Engagement,
    Invitation,
    Milestone,
    Offer,
    Project,
    Proposal,
    Review,
)
from projects.taxonomy import taxonomy_sync
from tests.factories import UserFactory
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def taxonomy() -> None:
    taxonomy_sync()


# -- people and things, made through the services ------------------------------------------------


def buyer(username: str = "bea") -> User:
    return UserFactory(username=username, display_name=username.title(), is_buyer=True)


def provider(username: str = "pia") -> User:
    return UserFactory(username=username, display_name=username.title(), is_provider=True)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def project_of(owner: User, **changes: Any) -> Project:
    fields: dict[str, Any] = {
        "title": "Bakery logo",
        "description": "A logo for a small bakery in Lyon.",
        "category": "design",
        "skills": ["logo-design"],
        "budget": listings.Budget(amount=50000, currency="EUR"),
    }
    return listings.project_post(buyer=owner, **{**fields, **changes})


def proposal_on(project: Project, bidder: User, amount: int = 45000) -> Proposal:
    terms = listings.ProposalTerms(
        cover_letter="I have drawn logos for three bakeries.",
        amount=amount,
        currency="EUR",
        duration_days=14,
    )
    return listings.proposal_submit(provider=bidder, project_id=project.pk, terms=terms).proposal


def contract_between(owner: User, bidder: User) -> Contract:
    proposal = proposal_on(project_of(owner), bidder)
    return contracts.proposal_accept(buyer=owner, proposal_id=proposal.pk)


def html(response: Any) -> str:
    return str(response.content.decode())


def renewal(user: User) -> str:
    renews_on = listings.bid_quota_of(provider=user).renews_on
    return f"{renews_on.day} {renews_on:%B %Y}"


# -- projects: search ---------------------------------------------------------------------------


def test_a_visitor_is_sent_to_sign_in(client: Client) -> None:
    for url in ("/projects/", "/offers/", "/contracts/", "/profile/endorsements/"):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/?next={url}")


def test_a_session_that_outlived_a_ban_is_ended() -> None:
    bea = buyer()
    page = client_of(bea)
    user_ban(user=bea)
    response = page.get("/projects/")
    assert response.status_code == 403
    assert "This account has been banned and can no longer sign in." in html(response)
    assert page.get("/projects/")["Location"] == "/?next=/projects/"


def test_the_projects_page_lists_open_public_projects_by_the_filters() -> None:
    # given: public projects in two currencies and kinds, an invite-only and a closed one
    bea = buyer()
    project_of(bea, title="Bakery logo")
    project_of(
        bea, title="Café menu", budget=listings.Budget(amount=2500, currency="USD", kind="hourly")
    )
    project_of(bea, title="Secret rebrand", visibility="invite_only")
    listings.project_close(buyer=bea, project_id=project_of(bea, title="Old flyer").pk)
    page = client_of(provider())
    # when / then: everything listed, newest first
    everything = html(page.get("/projects/"))
    assert re.findall(r'market-card__title"><a href="/projects/\d+/">([^<]+)<', everything) == [
        "Café menu",
        "Bakery logo",
    ]
    assert "Showing 1\N{EN DASH}2 of 2 open projects." in everything
    assert "500.00 EUR, fixed price" in everything
    assert "25.00 USD per hour" in everything
    # and the filters narrow it
    hourly = html(page.get("/projects/", {"kind": "hourly"}))
    assert "Café menu" in hourly and "Bakery logo" not in hourly
    cheap = html(page.get("/projects/", {"currency": "EUR", "budget_max": "499.99"}))
    assert "No open projects match this search." in cheap
    found = html(
        page.get(
            "/projects/",
            {"q": "bakery", "skill": "logo-design", "budget_min": "500", "currency": "EUR"},
        )
    )
    assert "Bakery logo" in found and "Café menu" not in found


def test_a_budget_filter_without_a_currency_is_refused_with_the_reason() -> None:
    page = client_of(provider()).get("/projects/", {"budget_min": "100", "budget_max": "ten"})
    text = html(page)
    assert page.status_code == 400
    assert 'id="search-currency-error">Choose a currency to search by budget.</p>' in text
    assert 'aria-describedby="search-currency-error" aria-invalid="true"' in text
    assert (
        'aria-describedby="search-budget-hint search-budget-max-error" aria-invalid="true"' in text
    )
    assert "Showing" not in text


# -- projects: posting ----------------------------------------------------------------------------


def test_a_buyer_posts_a_project_and_lands_on_its_page() -> None:
    # given
    bea = buyer()
    page = client_of(bea)
    form = html(page.get("/projects/new/"))
    assert '<label class="field__label" for="project-title">Title</label>' in form
    assert '<label for="skill-logo-design">Logo design</label>' in form
    # when
    response = page.post(
        "/projects/new/",
        {
            "title": "Bakery logo",
            "description": "A logo.",
            "category": "design",
            "skills": ["logo-design", "brand-identity"],
            "amount": "1,250.50",
            "currency": "EUR",
            "kind": "hourly",
            "visibility": "invite_only",
        },
    )
    # then
    project = Project.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/projects/{project.pk}/")
    assert (project.buyer, project.title, project.category.slug if project.category else "") == (
        bea,
        "Bakery logo",
        "design",
    )
    assert (project.budget_amount, project.budget_currency, project.budget_kind) == (
        125050,
        "EUR",
        "hourly",
    )
    assert project.visibility == "invite_only"
    assert sorted(skill.slug for skill in project.skills.all()) == ["brand-identity", "logo-design"]
    shown = html(page.get(response["Location"]))
    assert "Your project is posted." in shown
    assert "1,250.50 EUR per hour" in shown


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        (
            {"amount": "12.345"},
            "project-amount",
            "Enter an amount like 450.00, with at most 2 decimals.",
        ),
        ({"amount": ""}, "project-amount", "Enter an amount."),
        ({"title": " "}, "project-title", "Give the project a title."),
        ({"title": "x" * 201}, "project-title", "At most 200 characters."),
        ({"category": "cooking"}, "project-category", "Unknown category"),
        ({"currency": "XYZ"}, "project-currency", "Use an ISO 4217 currency code"),
        ({"amount": "0"}, "project-amount", "Give a positive whole number"),
        ({"kind": "weekly"}, "project-kind", "Choose fixed price or hourly rate."),
    ],
)
def test_a_bad_project_is_shown_again_with_its_errors_and_nothing_is_stored(
    changes: dict[str, str], field_id: str, message: str
) -> None:
    # given
    body = {
        "title": "Bakery logo",
        "description": "A logo.",
        "category": "design",
        "skills": ["logo-design"],
        "amount": "500",
        "currency": "EUR",
        "kind": "fixed",
        "visibility": "public",
        **changes,
    }
    # when
    response = client_of(buyer()).post("/projects/new/", body)
    # then
    text = html(response)
    assert response.status_code == 400
    assert f'id="{field_id}-error">{message}' in text
    assert re.search(rf'aria-describedby="[^"]*{field_id}-error" aria-invalid="true"', text)
    assert "The project was not posted" in text
    assert 'value="Bakery logo"' in text or "title" in changes  # what was typed stays
    assert Project.objects.count() == 0


def test_every_error_of_a_project_shows_at_once() -> None:
    body = {"title": "", "category": "", "amount": "x", "currency": "EUR", "kind": "fixed"}
    response = client_of(buyer()).post("/projects/new/", body)
    text = html(response)
    assert response.status_code == 400
    for field_id in ("project-title", "project-category", "project-amount"):
        assert f'id="{field_id}-error"' in text
    assert Project.objects.count() == 0


def test_only_buyers_post_projects() -> None:
    page = client_of(provider())
    assert page.get("/projects/new/").status_code == 403
    refused = page.post("/projects/new/", {"title": "Mine", "amount": "5", "currency": "EUR"})
    assert refused.status_code == 403
    assert "Only buyers post projects" in html(refused)
    assert Project.objects.count() == 0


# -- a project's page: the provider's side ------------------------------------------------------


def test_a_provider_sees_the_free_bids_left_and_sends_a_proposal() -> None:
    # given
    project = project_of(buyer())
    pia = provider()
    page = client_of(pia)
    shown = html(page.get(f"/projects/{project.pk}/"))
    renews_on = listings.bid_quota_of(provider=pia).renews_on
    assert (
        f'10 free bids left this month, renews on <time datetime="{renews_on.isoformat()}">'
        f"{renewal(pia)}</time>."
    ) in shown
    assert '<label class="field__label" for="proposal-cover-letter">Cover letter</label>' in shown
    # when
    response = page.post(
        f"/projects/{project.pk}/proposals/",
        {
            "cover_letter": "I draw logos.",
            "amount": "450",
            "currency": "EUR",
            "duration_days": "14",
        },
    )
    # then: stored, one bid spent, told on the page, and posted in the new chat
    assert (response.status_code, response["Location"]) == (302, f"/projects/{project.pk}/")
    proposal = Proposal.objects.get()
    assert (proposal.provider, proposal.amount, proposal.currency, proposal.duration_days) == (
        pia,
        45000,
        "EUR",
        14,
    )
    assert BidAllowance.objects.get(provider=pia).used == 1
    after = html(page.get(response["Location"]))
    assert "Your proposal is sent. 9 free bids left this month." in after
    assert "Send proposal" not in after
    engagement = Engagement.objects.get(project=project, provider=pia)
    assert f'href="/conversations/{engagement.conversation_id}/">Message Bea</a>' in after


def test_an_invited_provider_is_told_the_proposal_is_free() -> None:
    # given
    bea, pia = buyer(), provider()
    project = project_of(bea, visibility="invite_only")
    listings.invitation_send(buyer=bea, project_id=project.pk, provider_id=pia.pk)
    page = client_of(pia)
    # when
    shown = html(page.get(f"/projects/{project.pk}/"))
    sent = page.post(
        f"/projects/{project.pk}/proposals/",
        {"cover_letter": "Hello", "amount": "450", "currency": "EUR", "duration_days": "3"},
    )
    # then
    assert "You were invited to this project: this proposal is free." in shown
    assert "free bids left" not in shown
    assert sent.status_code == 302
    assert Proposal.objects.get().costs_bid is False
    assert not BidAllowance.objects.filter(provider=pia, used__gt=0).exists()


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"duration_days": "0"}, "proposal-duration", "Enter a whole number from 1 to 3,650."),
        ({"amount": "abc"}, "proposal-amount", "Enter an amount like 450.00"),
        ({"cover_letter": ""}, "proposal-cover-letter", "Write a cover letter."),
        ({"currency": "ABC"}, "proposal-currency", "Use an ISO 4217 currency code"),
    ],
)
def test_a_bad_proposal_is_shown_again_and_stores_and_spends_nothing(
    changes: dict[str, str], field_id: str, message: str
) -> None:
    project = project_of(buyer())
    pia = provider()
    body = {"cover_letter": "Hi", "amount": "450", "currency": "EUR", "duration_days": "5"}
    response = client_of(pia).post(f"/projects/{project.pk}/proposals/", {**body, **changes})
    text = html(response)
    assert response.status_code == 400
    assert f'id="{field_id}-error">{message}' in text
    assert re.search(rf'aria-describedby="[^"]*{field_id}-error" aria-invalid="true"', text)
    assert "10 free bids left this month" in text
    assert Proposal.objects.count() == 0
    assert not BidAllowance.objects.filter(provider=pia, used__gt=0).exists()


@override_settings(BID_QUOTA_MONTHLY=1)
def test_past_the_free_bids_a_proposal_is_refused_with_429_and_the_renewal_date() -> None:
    # given: the one free bid is spent
    bea, pia = buyer(), provider()
    proposal_on(project_of(bea, title="First"), pia)
    second = project_of(bea, title="Second")
    page = client_of(pia)
    shown = html(page.get(f"/projects/{second.pk}/"))
    assert "You have used this month's free bids." in shown
    # when: a proposal is posted anyway
    response = page.post(
        f"/projects/{second.pk}/proposals/",
        {"cover_letter": "Hi", "amount": "450", "currency": "EUR", "duration_days": "5"},
    )
    # then
    assert response.status_code == 429
    assert f"You have used this month&#x27;s 1 free bid; they renew on {renewal(pia)}." in html(
        response
    )
    assert Proposal.objects.filter(project=second).count() == 0


def test_a_buyer_cannot_send_a_proposal() -> None:
    project = project_of(buyer())
    other_buyer = client_of(buyer("bob"))
    response = other_buyer.post(
        f"/projects/{project.pk}/proposals/",
        {"cover_letter": "Hi", "amount": "450", "currency": "EUR", "duration_days": "5"},
    )
    assert response.status_code == 403
    assert "Only providers send proposals." in html(response)
    assert Proposal.objects.count() == 0


def test_an_invite_only_project_is_not_found_by_others() -> None:
    project = project_of(buyer(), visibility="invite_only")
    assert client_of(provider()).get(f"/projects/{project.pk}/").status_code == 404
    assert client_of(provider()).get("/projects/999999/").status_code == 404


# -- a project's page: the buyer's side ---------------------------------------------------------


def test_the_buyer_accepts_a_proposal_and_lands_on_the_contract() -> None:
    # given
    bea, pia = buyer(), provider()
    project = project_of(bea)
    proposal = proposal_on(project, pia)
    page = client_of(bea)
    shown = html(page.get(f"/projects/{project.pk}/"))
    engagement = Engagement.objects.get(project=project, provider=pia)
    assert "I have drawn logos for three bakeries." in shown
    assert 'Accept<span class="visually-hidden"> the proposal of Pia</span>' in shown
    assert f'href="/conversations/{engagement.conversation_id}/">Message Pia</a>' in shown
    # when
    response = page.post(f"/proposals/{proposal.pk}/accept/")
    # then
    contract = Contract.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/contracts/{contract.pk}/")
    assert (contract.buyer, contract.provider, contract.amount) == (bea, pia, 45000)
    assert Proposal.objects.get().state == "accepted"
    after = html(page.get(f"/projects/{project.pk}/"))
    assert f'href="/contracts/{contract.pk}/">Open the contract' in after


def test_the_provider_cannot_accept_and_an_outsider_gets_404() -> None:
    bea, pia = buyer(), provider()
    proposal = proposal_on(project_of(bea), pia)
    refused = client_of(pia).post(f"/proposals/{proposal.pk}/accept/")
    assert refused.status_code == 403
    assert "Only the project&#x27;s buyer decides on a proposal." in html(refused)
    assert client_of(buyer("bob")).post(f"/proposals/{proposal.pk}/accept/").status_code == 404
    assert client_of(buyer("bob")).post(f"/proposals/{proposal.pk}/decline/").status_code == 404
    assert Contract.objects.count() == 0
    assert Proposal.objects.get().state == "submitted"


def test_the_buyer_declines_a_proposal_once() -> None:
    bea, pia = buyer(), provider()
    project = project_of(bea)
    proposal = proposal_on(project, pia)
    page = client_of(bea)
    declined = page.post(f"/proposals/{proposal.pk}/decline/")
    assert (declined.status_code, declined["Location"]) == (302, f"/projects/{project.pk}/")
    assert Proposal.objects.get().state == "declined"
    again = page.post(f"/proposals/{proposal.pk}/decline/")
    assert again.status_code == 409
    assert "This proposal is declined already." in html(again)


def test_the_buyer_invites_a_recommended_provider_once() -> None:
    # given: a public profile with the project's skill
    bea = buyer()
    pia = provider_with_profile(username="pia", display_name="Pia Paints")
    project = project_of(bea)
    page = client_of(bea)
    shown = html(page.get(f"/projects/{project.pk}/"))
    assert f'<option value="{pia.pk}">Pia Paints: Logos for bakeries</option>' in shown
    # when
    invited = page.post(
        f"/projects/{project.pk}/invitations/", {"provider": pia.pk, "message": "Hi"}
    )
    again = page.post(f"/projects/{project.pk}/invitations/", {"provider": pia.pk})
    missing = page.post(f"/projects/{project.pk}/invitations/", {"provider": ""})
    # then
    assert invited.status_code == 302
    assert Invitation.objects.get().message == "Hi"
    assert again.status_code == 409
    assert "This provider is invited already." in html(again)
    assert missing.status_code == 400
    assert 'id="invite-provider-error">Choose a provider to invite.</p>' in html(missing)
    assert Invitation.objects.count() == 1


def test_only_the_buyer_closes_a_project() -> None:
    bea = buyer()
    project = project_of(bea)
    assert client_of(provider()).post(f"/projects/{project.pk}/close/").status_code == 404
    assert Project.objects.get().status == "open"
    closed = client_of(bea).post(f"/projects/{project.pk}/close/")
    assert closed.status_code == 302
    assert Project.objects.get().status == "closed"
    shown = html(client_of(provider("pat")).get(f"/projects/{project.pk}/"))
    assert "This project takes no proposals now." in shown


# -- recommendations and my proposals -----------------------------------------------------------


def test_recommendations_and_invitations_are_for_providers() -> None:
    # given
    bea = buyer()
    pia = provider_with_profile(username="pia")
    project_of(bea, title="Logo for a café")
    private = project_of(bea, title="Invite-only menu", visibility="invite_only")
    listings.invitation_send(buyer=bea, project_id=private.pk, provider_id=pia.pk, message="Yours?")
    # when
    page = client_of(pia).get("/projects/recommended/")
    # then
    text = html(page)
    assert page.status_code == 200
    assert "Logo for a café" in text
    assert "Invite-only menu" in text and "Yours?" in text
    assert "10 free bids left this month" in text
    assert client_of(bea).get("/projects/recommended/").status_code == 403


def test_a_provider_withdraws_a_proposal_from_my_proposals() -> None:
    bea, pia = buyer(), provider()
    proposal = proposal_on(project_of(bea), pia)
    page = client_of(pia)
    listed = html(page.get("/proposals/"))
    assert 'Withdraw<span class="visually-hidden"> the proposal on Bakery logo</span>' in listed
    assert client_of(provider("pat")).post(f"/proposals/{proposal.pk}/withdraw/").status_code == 404
    assert Proposal.objects.get().state == "submitted"
    withdrawn = page.post(f"/proposals/{proposal.pk}/withdraw/")
    assert (withdrawn.status_code, withdrawn["Location"]) == (302, "/proposals/")
    assert Proposal.objects.get().state == "withdrawn"
    again = page.post(f"/proposals/{proposal.pk}/withdraw/")
    assert again.status_code == 409
    assert client_of(bea).get("/proposals/").status_code == 403


# -- offers ----------------------------------------------------------------------------------------


def test_a_provider_publishes_an_offer_and_a_buyer_buys_it() -> None:
    # given
    pia, bea = provider(), buyer()
    publish = client_of(pia).post(
        "/offers/new/",
        {
            "title": "Logo in a week",
            "included": "Three drafts.",
            "category": "design",
            "amount": "300",
            "currency": "EUR",
            "delivery_days": "7",
        },
    )
    offer = Offer.objects.get()
    assert (publish.status_code, publish["Location"]) == (302, f"/offers/{offer.pk}/")
    assert (offer.price_amount, offer.price_currency, offer.delivery_days) == (30000, "EUR", 7)
    page = client_of(bea)
    assert "Logo in a week" in html(page.get("/offers/"))
    assert ">Buy this offer</button>" in html(page.get(f"/offers/{offer.pk}/"))
    # when
    bought = page.post(f"/offers/{offer.pk}/buy/")
    # then
    contract = Contract.objects.get()
    assert (bought.status_code, bought["Location"]) == (302, f"/contracts/{contract.pk}/")
    assert (contract.offer, contract.buyer, contract.amount) == (offer, bea, 30000)


def test_a_bad_offer_stores_nothing_and_buyers_do_not_publish() -> None:
    response = client_of(provider()).post(
        "/offers/new/",
        {
            "title": "Logo",
            "included": "",
            "category": "design",
            "amount": "3",
            "currency": "EUR",
            "delivery_days": "x",
        },
    )
    text = html(response)
    assert response.status_code == 400
    assert 'id="offer-delivery-error">Enter a whole number from 1 to 3,650.</p>' in text
    assert Offer.objects.count() == 0
    empty = client_of(provider("pat")).post(
        "/offers/new/",
        {
            "title": "Logo",
            "included": "",
            "category": "design",
            "amount": "3",
            "currency": "EUR",
            "delivery_days": "2",
        },
    )
    assert empty.status_code == 400
    assert 'id="offer-included-error">Say what the price includes.</p>' in html(empty)
    assert client_of(buyer()).get("/offers/new/").status_code == 403
    assert Offer.objects.count() == 0


def test_an_offer_is_not_bought_by_its_provider_nor_by_a_non_buyer() -> None:
    pia = provider()
    offer = contracts.offer_publish(
        provider=pia,
        terms=contracts.OfferTerms("Logo", "Drafts", "design", 30000, "EUR", 7),
    )
    own = client_of(pia)
    assert "Buy this offer" not in html(own.get(f"/offers/{offer.pk}/"))
    assert own.post(f"/offers/{offer.pk}/buy/").status_code == 403
    assert client_of(provider("pat")).post(f"/offers/{offer.pk}/buy/").status_code == 403
    assert Contract.objects.count() == 0
    retired = own.post(f"/offers/{offer.pk}/retire/")
    assert retired.status_code == 302
    assert client_of(buyer()).get(f"/offers/{offer.pk}/").status_code == 404


# -- contracts -------------------------------------------------------------------------------------


def test_a_contract_page_is_for_its_parties_and_support_staff() -> None:
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    engagement = Engagement.objects.get()
    for party in (bea, pia):
        text = html(client_of(party).get(f"/contracts/{contract.pk}/"))
        assert (
            f'href="/conversations/{engagement.conversation_id}/">Open the contract\'s chat' in text
        )
        assert "450.00 EUR, fixed price" in text
        assert ">End contract</button>" in text
        assert f'href="/contracts/{contract.pk}/">Bakery logo</a>' in html(
            client_of(party).get("/contracts/")
        )
    staff = html(
        client_of(UserFactory(username="sam", is_support=True)).get(f"/contracts/{contract.pk}/")
    )
    assert "Bakery logo" in staff and "End contract" not in staff and "Add milestone" not in staff
    assert client_of(buyer("bob")).get(f"/contracts/{contract.pk}/").status_code == 404
    assert "Bakery logo" not in html(client_of(buyer("bob")).get("/contracts/"))


def test_parties_add_milestones_and_the_provider_delivers_them() -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    first = contract.milestones.get()
    # when: the buyer adds a milestone
    added = client_of(bea).post(
        f"/contracts/{contract.pk}/milestones/",
        {"title": "Business cards", "amount": "80", "due_on": "2030-05-31"},
    )
    # then
    assert added.status_code == 302
    cards = Milestone.objects.get(title="Business cards")
    assert (cards.amount, cards.due_on) == (8000, date(2030, 5, 31))
    # when: the buyer tries to deliver, then the provider delivers
    buyer_page = html(client_of(bea).get(f"/contracts/{contract.pk}/"))
    assert "Mark delivered" not in buyer_page
    assert (
        client_of(bea).post(f"/contracts/{contract.pk}/milestones/{first.pk}/deliver/").status_code
        == 403
    )
    page = client_of(pia)
    assert 'aria-label="Mark delivered: Bakery logo">Mark delivered</button>' in html(
        page.get(f"/contracts/{contract.pk}/")
    )
    delivered = page.post(f"/contracts/{contract.pk}/milestones/{first.pk}/deliver/")
    # then
    assert delivered.status_code == 302
    assert Milestone.objects.get(pk=first.pk).delivered_at is not None
    assert page.post(f"/contracts/{contract.pk}/milestones/{first.pk}/deliver/").status_code == 409
    events = Event.objects.filter(conversation=contract.engagement.conversation, kind="system")
    assert [e.data["event"] for e in events.order_by("seq")][-2:] == [
        "milestone_added",
        "milestone_delivered",
    ]


def test_a_bad_milestone_is_shown_again_and_nothing_is_stored() -> None:
    contract = contract_between(buyer(), provider())
    response = client_of(contract.buyer).post(
        f"/contracts/{contract.pk}/milestones/", {"title": "", "amount": "1.234", "due_on": "soon"}
    )
    text = html(response)
    assert response.status_code == 400
    assert 'id="milestone-title-error">Give the milestone a title.</p>' in text
    assert (
        'id="milestone-amount-error">Enter an amount like 450.00, with at most 2 decimals.</p>'
        in text
    )
    assert 'id="milestone-due-error">Enter a date like 2030-05-31, or leave it empty.</p>' in text
    assert Milestone.objects.count() == 1


def test_each_party_ends_a_contract_with_its_own_outcomes() -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    buyer_page = html(client_of(bea).get(f"/contracts/{contract.pk}/"))
    provider_page = html(client_of(pia).get(f"/contracts/{contract.pk}/"))
    assert re.findall(r'<label for="end-outcome-(\w+)">([^<]+)</label>', buyer_page) == [
        ("completed", "Completed"),
        ("cancelled", "Cancelled by the buyer"),
    ]
    assert re.findall(r'<label for="end-outcome-(\w+)">([^<]+)</label>', provider_page) == [
        ("completed", "Completed"),
        ("withdrawn", "Withdrawn by the provider"),
    ]
    # when: the provider ends it as completed with a milestone not delivered, or without outcome
    early = client_of(pia).post(f"/contracts/{contract.pk}/end/", {"outcome": "completed"})
    blank = client_of(pia).post(f"/contracts/{contract.pk}/end/", {"note": "bye"})
    # then: refused at the outcome, and the contract runs on
    assert early.status_code == 400
    assert 'id="end-outcome-error">Deliver every milestone before ending' in html(early)
    assert blank.status_code == 400
    assert 'id="end-outcome-error">Choose how the contract ends.</p>' in html(blank)
    assert Contract.objects.get().is_active
    # when: the buyer cancels it
    ended = client_of(bea).post(
        f"/contracts/{contract.pk}/end/", {"outcome": "cancelled", "note": "Plans changed."}
    )
    # then
    assert ended.status_code == 302
    contract.refresh_from_db()
    assert (contract.state, contract.outcome, contract.end_note) == (
        "ended",
        "cancelled",
        "Plans changed.",
    )
    after = html(client_of(bea).get(f"/contracts/{contract.pk}/"))
    assert "End contract" not in after and "Review Pia" in after


def test_a_party_reviews_an_ended_contract_once() -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    page = client_of(bea)
    early = page.post(f"/contracts/{contract.pk}/review/", {"rating": "5"})
    assert early.status_code == 409
    assert "Reviews open when the contract has ended." in html(early)
    contracts.contract_end(user=bea, contract_id=contract.pk, outcome="completed")
    form = html(page.get(f"/contracts/{contract.pk}/"))
    assert re.findall(r'<label for="review-rating-(\d)">', form) == ["1", "2", "3", "4", "5"]
    # when: a bad rating, then a good one, then another
    bad = page.post(f"/contracts/{contract.pk}/review/", {"rating": "6", "text": "Great"})
    assert bad.status_code == 400
    assert 'id="review-rating-error">Enter a whole number from 1 to 5.</p>' in html(bad)
    assert Review.objects.count() == 0
    good = page.post(f"/contracts/{contract.pk}/review/", {"rating": "5", "text": "Lovely logo."})
    again = page.post(f"/contracts/{contract.pk}/review/", {"rating": "1"})
    # then: one review; the form is gone
    assert good.status_code == 302
    review = Review.objects.get()
    assert (review.author, review.subject, review.rating, review.text) == (
        bea,
        pia,
        5,
        "Lovely logo.",
    )
    assert again.status_code == 409
    after = html(page.get(f"/contracts/{contract.pk}/"))
    assert "Your review: 5 of 5" in after and "Send review" not in after
    assert (
        client_of(buyer("bob"))
        .post(f"/contracts/{contract.pk}/review/", {"rating": "1"})
        .status_code
        == 404
    )


# -- endorsements ----------------------------------------------------------------------------------


def test_a_provider_asks_for_an_endorsement(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given
    pia = UserFactory(username="pia", email="pia@example.com", is_provider=True)
    page = client_of(pia)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        asked = page.post(
            "/profile/endorsements/",
            {"name": "Carla Client", "email": "carla@example.com", "relationship": "client"},
        )
    # then
    assert (asked.status_code, asked["Location"]) == (302, "/profile/endorsements/")
    endorsement = Endorsement.objects.get()
    assert (endorsement.provider, endorsement.endorser_email) == (pia, "carla@example.com")
    assert [message.to for message in mail.outbox] == [["carla@example.com"]]
    listed = html(page.get("/profile/endorsements/"))
    assert "We e-mailed Carla Client a link to write your endorsement." in listed
    assert 'Carla Client <span class="muted">(past client, carla@example.com)' in listed
    # and the same person again is refused
    again = page.post(
        "/profile/endorsements/",
        {"name": "Carla", "email": "carla@example.com", "relationship": "client"},
    )
    assert again.status_code == 409
    assert "You have asked this person already." in html(again)


def test_a_bad_endorsement_request_stores_nothing_and_buyers_have_none() -> None:
    page = client_of(provider())
    response = page.post(
        "/profile/endorsements/",
        {"name": "Carla", "email": "not an address", "relationship": "boss"},
    )
    assert response.status_code == 400
    assert 'id="endorser-email-error">Enter an e-mail address' in html(response)
    bad_relationship = page.post(
        "/profile/endorsements/",
        {"name": "Carla", "email": "c@example.com", "relationship": "boss"},
    )
    assert bad_relationship.status_code == 400
    assert 'id="endorser-relationship-error">Say' in html(bad_relationship)
    assert Endorsement.objects.count() == 0
    assert mail.outbox == []
    assert client_of(buyer()).get("/profile/endorsements/").status_code == 403


# -- the inbox, the conversation, the navigation ---------------------------------------------------


def test_the_inbox_links_each_conversation_to_its_project_and_contract() -> None:
    # given: one engagement with a contract, one without
    bea, pia, pat = buyer(), provider(), provider("pat")
    contract = contract_between(bea, pia)
    proposal_on(project_of(bea, title="Menu"), pat)
    # when
    inbox = html(client_of(bea).get("/"))
    # then
    conversation = contract.engagement.conversation_id
    described = f'aria-describedby="inbox-title-{conversation}"'
    assert f'<a href="/projects/{contract.project_id}/" {described}>Project</a>' in inbox
    assert f'<a href="/contracts/{contract.pk}/" {described}>Contract</a>' in inbox
    assert f'id="inbox-title-{conversation}">Bakery logo</span>' in inbox
    assert inbox.count('">Contract</a>') == 1
    assert inbox.count('">Project</a>') == 2


def test_the_conversation_page_links_its_contract() -> None:
    bea, pia = buyer(), provider()
    contract = contract_between(bea, pia)
    conversation = contract.engagement.conversation_id
    text = html(client_of(pia).get(f"/conversations/{conversation}/"))
    assert f'<a href="/contracts/{contract.pk}/">See the contract</a>' in text


def test_the_navigation_shows_the_marketplace_by_role() -> None:
    def nav(user: User) -> list[str]:
        text = html(client_of(user).get("/"))
        bar = text.split('aria-label="Marketplace">', 1)[1].split("</nav>", 1)[0]
        return re.findall(r">([^<]+)</a>", bar)

    assert nav(buyer()) == ["Find providers", "Projects", "Offers", "Contracts", "Money"]
    assert nav(provider()) == [
        "Find providers",
        "Projects",
        "Recommended",
        "Offers",
        "Contracts",
        "Money",
        "My profile",
        "Skills assessments",
    ]
