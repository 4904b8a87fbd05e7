"""Bad input to the marketplace: each a clear 400/409 in the error shape, and nothing stored.
Also the search's filters and the recommendations' ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from chatbox.errors import ApplicationError
from projects import contracts, listings
from projects.models import AMOUNT_MAX, BidAllowance, Project
from tests.factories import UserFactory
from tests.projects.deals import (
    contract_of,
    error,
    market_state,
    project_listed,
    proposal_of,
)
from tests.projects.market import (
    PROJECT,
    PROPOSAL,
    buyer,
    client_of,
    post,
    project_posted,
    provider,
)
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db

INVALID = "The request is not valid."
AT_LEAST_1 = "Ensure this value is greater than or equal to 1."
AT_MOST_AMOUNT = f"Ensure this value is less than or equal to {AMOUNT_MAX}."
NOT_AN_INTEGER = "A valid integer is required."
UNKNOWN_CURRENCY = "Use an ISO 4217 currency code, such as EUR or USD."
BUDGET = {"amount": 50000, "currency": "EUR", "kind": "fixed"}  # PROJECT's


def budget(**changes: Any) -> dict[str, Any]:
    return {"budget": {**BUDGET, **changes}}


def not_a_choice(value: str) -> str:
    return f'"{value}" is not a valid choice.'


# -- projects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"category": "cooking"},
            {"category": ["Unknown category 'cooking'; see /api/categories/."]},
        ),
        (
            {"skills": ["logo-design", "juggling", "fire-eating"]},
            {"skills": ["Unknown skills: 'juggling', 'fire-eating'."]},
        ),
        (budget(amount=-100), {"budget": {"amount": [AT_LEAST_1]}}),
        (budget(amount=0), {"budget": {"amount": [AT_LEAST_1]}}),
        (budget(amount=AMOUNT_MAX + 1), {"budget": {"amount": [AT_MOST_AMOUNT]}}),
        (budget(amount=10**30), {"budget": {"amount": [AT_MOST_AMOUNT]}}),
        (budget(amount=12.5), {"budget": {"amount": [NOT_AN_INTEGER]}}),
        (budget(amount="lots"), {"budget": {"amount": [NOT_AN_INTEGER]}}),
        (budget(currency="XYZ"), {"budget": {"currency": [UNKNOWN_CURRENCY]}}),
        (budget(currency="eur"), {"budget": {"currency": [UNKNOWN_CURRENCY]}}),
        (budget(currency="EURO"), {"budget": {"currency": [UNKNOWN_CURRENCY]}}),
        (budget(kind="weekly"), {"budget": {"kind": [not_a_choice("weekly")]}}),
        (
            {"title": "x" * 201},
            {"title": ["Ensure this field has no more than 200 characters."]},
        ),
        ({"title": "   "}, {"title": ["This field may not be blank."]}),
        (
            {"description": "x" * 10_001},
            {"description": ["Ensure this field has no more than 10000 characters."]},
        ),
        (
            {"description": "x" * 100_000},
            {"description": ["Ensure this field has no more than 10000 characters."]},
        ),
        (
            {"skills": ["logo-design"] * 11},
            {"skills": ["Ensure this field has no more than 10 elements."]},
        ),
        ({"visibility": "secret"}, {"visibility": [not_a_choice("secret")]}),
        ({"budget": None}, {"budget": ["This field may not be null."]}),
    ],
)
def test_a_bad_project_is_400_and_nothing_is_stored(
    taxonomy: None, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given
    bea = buyer()
    before = market_state()
    # when
    response = post(client_of(bea), "/api/projects/", {**PROJECT, **changes})
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)
    assert market_state() == before


def test_a_body_that_is_not_json_is_400(taxonomy: None) -> None:
    # given
    bea = buyer()
    before = market_state()
    # when
    response = client_of(bea).post("/api/projects/", "{not json", content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert market_state() == before


def test_a_project_is_stored_as_posted(taxonomy: None) -> None:
    # given
    bea = buyer()
    # when
    posted = project_posted(client_of(bea), title="  Bakery logo  ")
    # then
    project = Project.objects.get()
    assert posted == {
        "id": project.pk,
        "title": "Bakery logo",
        "description": "A logo for a small bakery in Lyon.",
        "category": "design",
        "skills": ["logo-design", "brand-identity"],
        "budget": {"amount": 50000, "currency": "EUR", "kind": "fixed"},
        "status": "open",
        "visibility": "public",
        "buyer": {"id": bea.pk, "name": "Bea"},
        "offer": None,
        "created_at": project.created_at.isoformat(),
    }


# -- proposals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"amount": -1}, {"amount": [AT_LEAST_1]}),
        ({"amount": AMOUNT_MAX + 1}, {"amount": [AT_MOST_AMOUNT]}),
        ({"amount": "a lot"}, {"amount": [NOT_AN_INTEGER]}),
        ({"currency": "XYZ"}, {"currency": [UNKNOWN_CURRENCY]}),
        (
            {"cover_letter": "x" * 5_001},
            {"cover_letter": ["Ensure this field has no more than 5000 characters."]},
        ),
        ({"cover_letter": ""}, {"cover_letter": ["This field may not be blank."]}),
        ({"duration_days": 0}, {"duration_days": [AT_LEAST_1]}),
        (
            {"duration_days": 3_651},
            {"duration_days": ["Ensure this value is less than or equal to 3650."]},
        ),
    ],
)
def test_a_bad_proposal_is_400_stores_nothing_and_spends_no_bid(
    taxonomy: None, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given an open project
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    before = market_state()
    # when
    response = post(
        client_of(pia), f"/api/projects/{project.pk}/proposals/", {**PROPOSAL, **changes}
    )
    # then no proposal, no chat opened, no bid spent
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)
    assert market_state() == before
    assert not BidAllowance.objects.exists()


def test_a_missing_field_of_a_proposal_is_named(taxonomy: None) -> None:
    # given
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    before = market_state()
    # when
    response = post(client_of(pia), f"/api/projects/{project.pk}/proposals/", {"amount": 100})
    # then
    assert response.status_code == 400
    assert response.json() == error(
        "invalid",
        INVALID,
        {
            "cover_letter": ["This field is required."],
            "currency": ["This field is required."],
            "duration_days": ["This field is required."],
        },
    )
    assert market_state() == before


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"duration_days": 0}, {"duration_days": ["Between 1 and 3650 days."]}),
        ({"duration_days": 3_651}, {"duration_days": ["Between 1 and 3650 days."]}),
        ({"cover_letter": "x" * 5_001}, {"cover_letter": ["At most 5000 characters."]}),
        ({"amount": 0}, {"amount": ["Give a positive whole number of minor units (cents)."]}),
        ({"currency": "XYZ"}, {"currency": [UNKNOWN_CURRENCY]}),
    ],
)
def test_the_proposal_service_refuses_bad_terms_itself(
    taxonomy: None, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given an open project, and terms that bypass the API's checks
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    terms = listings.ProposalTerms(**{**PROPOSAL, **changes})
    before = market_state()
    # when
    with pytest.raises(ApplicationError) as refused:
        listings.proposal_submit(provider=pia, project_id=project.pk, terms=terms)
    # then
    assert (refused.value.code, refused.value.extra) == ("invalid", fields)
    assert market_state() == before


# -- offers, milestones, invitations, endorsements -----------------------------------------------

OFFER = {
    "title": "A logo in a week",
    "included": "Three sketches, two rounds of changes, the files.",
    "category": "design",
    "price": {"amount": 30000, "currency": "EUR"},
    "delivery_days": 7,
}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"category": "cooking"},
            {"category": ["Unknown category 'cooking'; see /api/categories/."]},
        ),
        ({"price": {"amount": -5, "currency": "EUR"}}, {"price": {"amount": [AT_LEAST_1]}}),
        (
            {"price": {"amount": 30000, "currency": "XYZ"}},
            {"price": {"currency": [UNKNOWN_CURRENCY]}},
        ),
        ({"delivery_days": 0}, {"delivery_days": [AT_LEAST_1]}),
        (
            {"included": "x" * 10_001},
            {"included": ["Ensure this field has no more than 10000 characters."]},
        ),
    ],
)
def test_a_bad_offer_is_400_and_nothing_is_stored(
    taxonomy: None, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given
    pia = provider()
    before = market_state()
    # when
    response = post(client_of(pia), "/api/offers/", {**OFFER, **changes})
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)
    assert market_state() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": "More", "amount": -5}, {"amount": [AT_LEAST_1]}),
        ({"title": "More", "amount": AMOUNT_MAX + 1}, {"amount": [AT_MOST_AMOUNT]}),
        (
            {"title": "x" * 201, "amount": 500},
            {"title": ["Ensure this field has no more than 200 characters."]},
        ),
        (
            {"title": "More", "amount": 500, "due_on": "soon"},
            {"due_on": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
    ],
)
def test_a_bad_milestone_is_400_and_nothing_is_stored(
    taxonomy: None, body: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given an active contract
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    before = market_state()
    # when
    response = post(client_of(bea), f"/api/contracts/{contract.pk}/milestones/", body)
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)
    assert market_state() == before


def test_a_bad_milestone_in_an_acceptance_is_400_and_nothing_is_stored(taxonomy: None) -> None:
    # given a proposal
    bea, pia = buyer(), provider()
    proposal = proposal_of(pia, project_listed(bea))
    before = market_state()
    # when the buyer accepts it with a milestone of no amount
    response = post(
        client_of(bea),
        f"/api/proposals/{proposal.pk}/accept/",
        {"milestones": [{"title": "All", "amount": 45000}, {"title": "Nothing", "amount": 0}]},
    )
    # then
    assert response.status_code == 400
    assert response.json() == error(
        "invalid", INVALID, {"milestones": {"1": {"amount": [AT_LEAST_1]}}}
    )
    assert market_state() == before


def test_inviting_is_checked(taxonomy: None) -> None:
    # given a buyer's project, a provider, and a member who is no provider
    bea, pia, bob = buyer("bea"), provider("pia"), buyer("bob")
    project = project_listed(bea)
    url = f"/api/projects/{project.pk}/invitations/"
    bea_client = client_of(bea)
    first = post(bea_client, url, {"provider": pia.pk, "message": "Would you?"})
    assert first.status_code == 201
    before = market_state()
    # when she invites pia again, a buyer, and nobody
    twice = post(bea_client, url, {"provider": pia.pk})
    not_a_provider = post(bea_client, url, {"provider": bob.pk})
    nobody = post(bea_client, url, {"provider": 999_999})
    # then
    assert (twice.status_code, twice.json()) == (
        409,
        error("already_invited", "This provider is invited already."),
    )
    for refused in (not_a_provider, nobody):
        assert (refused.status_code, refused.json()) == (
            400,
            error("invalid", INVALID, {"provider": ["No such provider."]}),
        )
    assert market_state() == before


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
        ({"relationship": "friend"}, {"relationship": [not_a_choice("friend")]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
    ],
)
def test_a_bad_endorsement_request_is_400_and_sends_nothing(
    taxonomy: None, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given
    pia = provider()
    before = market_state()
    body = {"name": "Carla", "email": "carla@example.com", "relationship": "client"}
    # when
    response = post(client_of(pia), "/api/profiles/me/endorsements/", {**body, **changes})
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)
    assert market_state() == before


# -- search ------------------------------------------------------------------------------------


def _found(client: Client, query: str) -> list[str]:
    response = client.get(f"/api/projects/?{query}")
    assert response.status_code == 200, response.json()
    return [project["title"] for project in response.json()["results"]]


@pytest.fixture
def listed(taxonomy: None) -> User:
    """Five open public listings, oldest first, and listings search never shows."""
    bea = buyer("bea")
    project_listed(bea, title="Bakery logo", description="Sourdough", amount=50000)
    project_listed(
        bea,
        title="Shop sign",
        description="A painted sign.",
        skills=("illustration",),
        amount=120000,
        currency="USD",
    )
    project_listed(
        bea,
        title="Django shop",
        description="A bakery's web shop.",
        category="development",
        skills=("python", "django"),
        amount=300000,
    )
    project_listed(
        bea,
        title="Logo refresh",
        description="Our logo, younger.",
        skills=("logo-design", "brand-identity"),
        amount=20000,
    )
    project_listed(
        bea,
        title="Menu translation",
        description="Our menu in French.",
        category="translation",
        skills=("english-french",),
        amount=4000,
        kind="hourly",
    )
    # never listed: invite-only, closed, in progress
    project_listed(bea, title="Secret logo", visibility="invite_only")
    listings.project_close(buyer=bea, project_id=project_listed(bea, title="Closed logo").pk)
    running = project_listed(bea, title="Running logo")
    contracts.proposal_accept(buyer=bea, proposal_id=proposal_of(provider("pat"), running).pk)
    return bea


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", ["Menu translation", "Logo refresh", "Django shop", "Shop sign", "Bakery logo"]),
        ("q=logo", ["Logo refresh", "Bakery logo"]),
        ("q=BAKERY", ["Django shop", "Bakery logo"]),
        ("q=bakery+shop", ["Django shop"]),
        ("q=nothing+matches", []),
        ("category=development", ["Django shop"]),
        ("skill=logo-design", ["Logo refresh", "Bakery logo"]),
        ("category=design&skill=illustration", ["Shop sign"]),
        ("budget_min=20000&budget_max=50000", ["Logo refresh", "Bakery logo"]),
        ("budget_min=120000", ["Django shop", "Shop sign"]),
        ("budget_max=4000", ["Menu translation"]),
        ("budget_min=50000&currency=EUR", ["Django shop", "Bakery logo"]),
        ("kind=hourly", ["Menu translation"]),
        ("category=cooking", []),
        ("skill=juggling", []),
        ("limit=2", ["Menu translation", "Logo refresh"]),
        ("limit=2&offset=4", ["Bakery logo"]),
    ],
)
def test_search_filters_open_public_listings(listed: User, query: str, titles: list[str]) -> None:
    # given the listings, searched by a provider
    searcher = client_of(provider("sam"))
    # when / then
    assert _found(searcher, query) == titles


def test_search_says_how_many_there_are_beyond_the_page(listed: User) -> None:
    # when
    response = client_of(provider("sam")).get("/api/projects/?limit=2&offset=1")
    # then
    body = response.json()
    assert (body["count"], body["limit"], body["offset"], len(body["results"])) == (5, 2, 1, 2)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("budget_min=50000&budget_max=20000", {"budget_min": ["Not above budget_max."]}),
        ("budget_min=-1", {"budget_min": ["Ensure this value is greater than or equal to 0."]}),
        ("budget_max=lots", {"budget_max": [NOT_AN_INTEGER]}),
        ("budget_max=100000000001", {"budget_max": [AT_MOST_AMOUNT]}),
        ("currency=XYZ", {"currency": [UNKNOWN_CURRENCY]}),
        ("kind=weekly", {"kind": [not_a_choice("weekly")]}),
        ("limit=0", {"limit": [AT_LEAST_1]}),
        ("limit=101", {"limit": ["Ensure this value is less than or equal to 100."]}),
        ("offset=-1", {"offset": ["Ensure this value is greater than or equal to 0."]}),
        ("q=" + "x" * 201, {"q": ["Ensure this field has no more than 200 characters."]}),
    ],
)
def test_a_bad_search_is_400(listed: User, query: str, fields: dict[str, Any]) -> None:
    # when
    response = client_of(provider("sam")).get(f"/api/projects/?{query}")
    # then
    assert response.status_code == 400
    assert response.json() == error("invalid", INVALID, fields)


# -- recommendations ---------------------------------------------------------------------------


def test_recommended_projects_rank_by_skill_overlap_then_recency(taxonomy: None) -> None:
    # given a provider (and buyer) whose profile has logo design and illustration
    pia = provider_with_profile("pia", skills=("logo-design", "illustration"), is_buyer=True)
    bea, pat = buyer("bea"), provider("pat")

    def listed(title: str, *skills: str) -> Project:
        return project_listed(bea, title=title, skills=skills)

    listed("Old two", "logo-design", "illustration")
    listed("One", "logo-design", "ui-design")
    listed("None", "ui-design")
    withdrawn = listed("Bid and withdrawn", "logo-design")
    listed("New two", "illustration", "logo-design", "print-design")
    bid_on = listed("Bid on", "logo-design", "illustration")
    project_listed(pia, title="Her own", skills=("logo-design", "illustration"))
    listed("Invite-only", "logo-design")
    Project.objects.filter(title="Invite-only").update(visibility="invite_only")
    # pia bids on one, bids on another and withdraws, where pat's proposal stays live
    proposal_of(pia, bid_on)
    listings.proposal_withdraw(provider=pia, proposal_id=proposal_of(pia, withdrawn).pk)
    proposal_of(pat, withdrawn)
    # when
    response = client_of(pia).get("/api/projects/recommended/")
    # then: two skills, newest first; then one skill; then none; own, bid on and hidden left out
    assert response.status_code == 200
    assert [project["title"] for project in response.json()] == [
        "New two",
        "Old two",
        "Bid and withdrawn",
        "One",
        "None",
    ]


def test_providers_to_invite_rank_by_overlap_then_vetting_and_never_show_private_ones(
    taxonomy: None,
) -> None:
    # given a project asking for three skills, and providers with some of them
    bea = buyer("bea")
    project = project_listed(bea, skills=("logo-design", "illustration", "brand-identity"))
    vetted = datetime(2025, 1, 1, tzinfo=UTC)
    provider_with_profile("cid", skills=("logo-design",))
    provider_with_profile("ann", skills=("logo-design", "illustration", "brand-identity"))
    provider_with_profile("ben", skills=("illustration", "ui-design"), vetted_at=vetted)
    provider_with_profile(
        "dee", visibility="private", skills=("logo-design", "illustration", "brand-identity")
    )
    provider_with_profile("eve", skills=("python",))
    provider_with_profile("fay", skills=("logo-design",), standing=User.Standing.BANNED)
    # when
    response = client_of(bea).get(f"/api/projects/{project.pk}/providers/")
    # then
    assert response.status_code == 200
    assert [(row["username"], row["vetted"]) for row in response.json()] == [
        ("ann", False),
        ("ben", True),
        ("cid", False),
    ]
    assert "dee" not in [
        profile.user.username
        for profile in listings.providers_recommended(buyer=bea, project_id=project.pk)
    ]


def test_a_provider_with_no_profile_gets_recent_listings(taxonomy: None) -> None:
    # given
    bea = buyer("bea")
    project_listed(bea, title="First")
    project_listed(bea, title="Second")
    member = UserFactory(username="sam", is_provider=True)
    # when
    response = client_of(member).get("/api/projects/recommended/")
    # then
    assert [project["title"] for project in response.json()] == ["Second", "First"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/projects/{huge}/",
        "/api/proposals/{huge}/",
        "/api/offers/{huge}/",
        "/api/contracts/{huge}/",
        "/api/contracts/1/milestones/{huge}/deliver/",
    ],
)
def test_an_id_beyond_any_column_is_404(taxonomy: None, url: str) -> None:
    # given a member, and an id far beyond a 64-bit integer
    member = UserFactory(username="sam", is_provider=True, is_buyer=True)
    path = url.format(huge=10**30)
    # when
    response = (
        client_of(member).post(path) if path.endswith("deliver/") else client_of(member).get(path)
    )
    # then
    assert response.status_code == 404
