"""Who may call each marketplace endpoint: anonymous callers get 401; a member of the wrong
role gets 403, or 404 where the answer must not tell that the thing exists; and a refused
call changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from projects import contracts, listings
from projects.marketplace_urls import urlpatterns
from projects.models import Contract, Milestone, Offer, Project, Proposal
from tests.factories import UserFactory
from tests.projects.deals import (
    contract_of,
    error,
    market_state,
    project_listed,
    proposal_of,
)
from tests.projects.market import PROJECT, PROPOSAL, buyer, client_of, provider

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Market:
    """bea (a buyer) has a public and an invite-only project; pia (a provider) bid on the
    public one and has a contract with bea on a third; ivy is invited to the invite-only
    one; sam (a provider) and bob (a buyer) have nothing to do with any of it; dana is a
    buyer and a provider at once."""

    users: dict[str, User]
    public: Project
    private: Project
    proposal: Proposal
    contract: Contract
    milestone: Milestone
    offer: Offer
    retired_offer: Offer

    def ids(self) -> dict[str, int]:
        return {
            "public": self.public.pk,
            "private": self.private.pk,
            "proposal": self.proposal.pk,
            "contract": self.contract.pk,
            "milestone": self.milestone.pk,
            "offer": self.offer.pk,
            "retired_offer": self.retired_offer.pk,
        }


OFFER_TERMS = contracts.OfferTerms(
    title="A logo in a week",
    included="Three sketches, two rounds of changes, the files.",
    category="design",
    price_amount=30000,
    price_currency="EUR",
    delivery_days=7,
)


@pytest.fixture
def market(taxonomy: None) -> Market:
    bea, bob = buyer("bea"), buyer("bob")
    pia, sam, ivy = provider("pia"), provider("sam"), provider("ivy")
    dana = UserFactory(username="dana", is_buyer=True, is_provider=True)
    public = project_listed(bea)
    private = project_listed(bea, title="Secret rebrand", visibility="invite_only")
    listings.invitation_send(buyer=bea, project_id=private.pk, provider_id=ivy.pk)
    proposal = proposal_of(pia, public)
    contract = contract_of(bea, pia, title="Shop sign")
    offer = contracts.offer_publish(provider=pia, terms=OFFER_TERMS)
    retired = contracts.offer_publish(provider=pia, terms=OFFER_TERMS)
    contracts.offer_retire(provider=pia, offer_id=retired.pk)
    users: dict[str, User] = {
        "bea": bea,
        "bob": bob,
        "pia": pia,
        "sam": sam,
        "ivy": ivy,
        "dana": dana,
    }
    return Market(
        users=users,
        public=public,
        private=private,
        proposal=proposal,
        contract=contract,
        milestone=contract.milestones.get(),
        offer=offer,
        retired_offer=retired,
    )


BODIES: dict[str, dict[str, Any]] = {
    "/api/projects/": PROJECT,
    "/api/projects/{public}/invitations/": {"provider": 1},
    "/api/projects/{public}/proposals/": PROPOSAL,
    "/api/projects/{private}/proposals/": PROPOSAL,
    "/api/proposals/{proposal}/accept/": {},
    "/api/offers/": {
        "title": "A logo in a week",
        "included": "Three sketches.",
        "category": "design",
        "price": {"amount": 30000, "currency": "EUR"},
        "delivery_days": 7,
    },
    "/api/contracts/{contract}/milestones/": {"title": "Business cards", "amount": 10000},
    "/api/contracts/{contract}/end/": {"outcome": "completed"},
    "/api/contracts/{contract}/reviews/": {"rating": 5},
    "/api/profiles/me/endorsements/": {
        "name": "Carla",
        "email": "carla@example.com",
        "relationship": "client",
    },
}

# Every route of projects/marketplace_urls.py but the endorser's (which needs no account).
SIGNED_IN_ENDPOINTS = [
    ("get", "/api/projects/"),
    ("post", "/api/projects/"),
    ("get", "/api/projects/recommended/"),
    ("get", "/api/projects/{public}/"),
    ("post", "/api/projects/{public}/close/"),
    ("post", "/api/projects/{public}/invitations/"),
    ("get", "/api/projects/{public}/providers/"),
    ("get", "/api/projects/{public}/proposals/"),
    ("post", "/api/projects/{public}/proposals/"),
    ("get", "/api/invitations/"),
    ("get", "/api/proposals/"),
    ("get", "/api/proposals/{proposal}/"),
    ("post", "/api/proposals/{proposal}/accept/"),
    ("post", "/api/proposals/{proposal}/decline/"),
    ("post", "/api/proposals/{proposal}/withdraw/"),
    ("get", "/api/account/bids/"),
    ("get", "/api/offers/"),
    ("post", "/api/offers/"),
    ("get", "/api/offers/{offer}/"),
    ("post", "/api/offers/{offer}/buy/"),
    ("post", "/api/offers/{offer}/retire/"),
    ("get", "/api/contracts/"),
    ("get", "/api/contracts/{contract}/"),
    ("post", "/api/contracts/{contract}/milestones/"),
    ("post", "/api/contracts/{contract}/milestones/{milestone}/deliver/"),
    ("post", "/api/contracts/{contract}/end/"),
    ("post", "/api/contracts/{contract}/reviews/"),
    ("post", "/api/profiles/me/endorsements/"),
]


def call(client: Client, method: str, url: str, market: Market) -> Any:
    path = url.format(**market.ids())
    if method == "get":
        return client.get(path)
    return client.post(path, BODIES.get(url, {}), content_type="application/json")


def _route(url: str) -> str:
    """``/api/projects/{public}/`` as its route in marketplace_urls: ``projects/<int:…>/``."""
    parts = url.removeprefix("/api/").split("/")
    names = {"public": "project_id", "private": "project_id", "proposal": "proposal_id"}
    names |= {"contract": "contract_id", "milestone": "milestone_id", "offer": "offer_id"}
    return "/".join(
        f"<int:{names[part[1:-1]]}>" if part.startswith("{") else part for part in parts
    )


def test_the_tables_here_name_every_route_of_the_marketplace() -> None:
    # given the routes the tests below call
    tested = {_route(url) for _, url in SIGNED_IN_ENDPOINTS} | {"endorsements/<str:token>/"}
    # when compared with the routes served
    served = {str(pattern.pattern) for pattern in urlpatterns}
    # then none is left out
    assert served == tested


@pytest.mark.parametrize(("method", "url"), SIGNED_IN_ENDPOINTS)
def test_an_anonymous_caller_gets_401_and_changes_nothing(
    market: Market, method: str, url: str
) -> None:
    # given
    before = market_state()
    # when
    response = call(Client(), method, url, market)
    # then
    assert response.status_code == 401
    assert response.json() == error(
        "not_authenticated", "Authentication credentials were not provided."
    )
    assert market_state() == before
    assert mail.outbox == []


NO_PROJECT = ("not_found", "No such project.")
NO_PROPOSAL = ("not_found", "No such proposal.")
NO_OFFER = ("not_found", "No such offer.")
NO_CONTRACT = ("not_found", "No such contract.")
DECIDES = ("forbidden", "Only the project's buyer decides on a proposal.")

REFUSALS = [
    # projects
    ("pia", "post", "/api/projects/", 403, ("forbidden", "Only buyers post projects and invite.")),
    ("sam", "get", "/api/projects/{private}/", 404, NO_PROJECT),
    ("bob", "get", "/api/projects/{private}/", 404, NO_PROJECT),
    ("pia", "post", "/api/projects/{public}/close/", 404, NO_PROJECT),
    ("bob", "post", "/api/projects/{private}/close/", 404, NO_PROJECT),
    ("bob", "post", "/api/projects/{public}/invitations/", 404, NO_PROJECT),
    ("pia", "get", "/api/projects/{public}/providers/", 404, NO_PROJECT),
    ("pia", "get", "/api/projects/{public}/proposals/", 404, NO_PROJECT),
    ("sam", "get", "/api/projects/{private}/proposals/", 404, NO_PROJECT),
    # proposals
    (
        "bea",
        "post",
        "/api/projects/{public}/proposals/",
        403,
        ("forbidden", "Only providers send proposals."),
    ),
    ("sam", "post", "/api/projects/{private}/proposals/", 404, NO_PROJECT),
    ("sam", "get", "/api/proposals/{proposal}/", 404, NO_PROPOSAL),
    ("bob", "get", "/api/proposals/{proposal}/", 404, NO_PROPOSAL),
    ("pia", "post", "/api/proposals/{proposal}/accept/", 403, DECIDES),
    ("sam", "post", "/api/proposals/{proposal}/accept/", 404, NO_PROPOSAL),
    ("pia", "post", "/api/proposals/{proposal}/decline/", 403, DECIDES),
    ("sam", "post", "/api/proposals/{proposal}/decline/", 404, NO_PROPOSAL),
    (
        "bea",
        "post",
        "/api/proposals/{proposal}/withdraw/",
        403,
        ("forbidden", "Only its provider withdraws a proposal."),
    ),
    ("sam", "post", "/api/proposals/{proposal}/withdraw/", 404, NO_PROPOSAL),
    # offers
    ("bea", "post", "/api/offers/", 403, ("forbidden", "Only providers publish offers.")),
    ("bea", "get", "/api/offers/{retired_offer}/", 404, NO_OFFER),
    ("pia", "post", "/api/offers/{offer}/buy/", 403, ("forbidden", "Only buyers buy offers.")),
    ("sam", "post", "/api/offers/{offer}/retire/", 404, NO_OFFER),
    ("bea", "post", "/api/offers/{offer}/retire/", 404, NO_OFFER),
    # contracts
    ("sam", "get", "/api/contracts/{contract}/", 404, NO_CONTRACT),
    ("bob", "get", "/api/contracts/{contract}/", 404, NO_CONTRACT),
    ("sam", "post", "/api/contracts/{contract}/milestones/", 404, NO_CONTRACT),
    (
        "bea",
        "post",
        "/api/contracts/{contract}/milestones/{milestone}/deliver/",
        403,
        ("forbidden", "Only the provider delivers milestones."),
    ),
    ("sam", "post", "/api/contracts/{contract}/milestones/{milestone}/deliver/", 404, NO_CONTRACT),
    ("sam", "post", "/api/contracts/{contract}/end/", 404, NO_CONTRACT),
    ("sam", "post", "/api/contracts/{contract}/reviews/", 404, NO_CONTRACT),
    # endorsements
    (
        "bea",
        "post",
        "/api/profiles/me/endorsements/",
        403,
        ("forbidden", "Only providers ask for endorsements."),
    ),
]


@pytest.mark.parametrize(("who", "method", "url", "status", "refusal"), REFUSALS)
def test_a_member_of_the_wrong_role_is_refused_and_nothing_changes(
    market: Market, who: str, method: str, url: str, status: int, refusal: tuple[str, str]
) -> None:
    # given
    before = market_state()
    # when
    response = call(client_of(market.users[who]), method, url, market)
    # then
    assert response.status_code == status
    assert response.json() == error(*refusal)
    assert market_state() == before
    assert mail.outbox == []


def test_a_buyer_cannot_bid_on_its_own_project(market: Market) -> None:
    # given dana, buyer and provider at once, with a project of her own
    dana = market.users["dana"]
    own = project_listed(dana)
    before = market_state()
    # when she bids on it
    response = client_of(dana).post(
        f"/api/projects/{own.pk}/proposals/", PROPOSAL, content_type="application/json"
    )
    # then
    assert response.status_code == 403
    assert response.json() == error("own_project", "You cannot bid on your own project.")
    assert market_state() == before


def test_a_buyer_cannot_buy_its_own_offer(market: Market) -> None:
    # given dana, buyer and provider at once, with an offer of her own
    dana = market.users["dana"]
    own = contracts.offer_publish(provider=dana, terms=OFFER_TERMS)
    before = market_state()
    # when she buys it
    response = client_of(dana).post(f"/api/offers/{own.pk}/buy/")
    # then
    assert response.status_code == 403
    assert response.json() == error("own_project", "You cannot buy your own offer.")
    assert market_state() == before


def test_an_invite_only_project_shows_to_its_buyer_and_invited_provider_only(
    market: Market,
) -> None:
    # given the invite-only project, ivy invited to it
    url = f"/api/projects/{market.private.pk}/"
    # when each member asks for it
    statuses = {name: client_of(user).get(url).status_code for name, user in market.users.items()}
    # then
    assert statuses == {"bea": 200, "ivy": 200, "pia": 404, "sam": 404, "bob": 404, "dana": 404}


def test_an_invite_only_project_is_never_listed_in_search(market: Market) -> None:
    # given the public and the invite-only project of bea
    # when bea herself and the invited provider search
    found = {
        name: [project["id"] for project in client_of(user).get("/api/projects/").json()["results"]]
        for name, user in market.users.items()
        if name in ("bea", "ivy")
    }
    # then only the public one is listed (the contract's project is in progress)
    assert found == {"bea": [market.public.pk], "ivy": [market.public.pk]}


def test_a_project_s_proposals_show_to_its_buyer_and_each_proposal_to_its_parties(
    market: Market,
) -> None:
    # given pia's proposal on bea's public project
    proposal_url = f"/api/proposals/{market.proposal.pk}/"
    # when
    listed = client_of(market.users["bea"]).get(f"/api/projects/{market.public.pk}/proposals/")
    seen = {
        name: client_of(user).get(proposal_url).status_code for name, user in market.users.items()
    }
    # then
    assert [proposal["id"] for proposal in listed.json()] == [market.proposal.pk]
    assert seen == {"bea": 200, "pia": 200, "sam": 404, "bob": 404, "ivy": 404, "dana": 404}


def test_own_lists_show_only_the_caller_s_own(market: Market) -> None:
    # given pia's proposal, contract and offers, and ivy's invitation
    # when each lists its proposals, invitations and contracts
    def own(user: User, url: str) -> list[int]:
        return [row["id"] for row in client_of(user).get(url).json()]

    lists = {
        name: (own(user, "/api/proposals/"), own(user, "/api/invitations/"))
        for name, user in market.users.items()
    }
    contracts_seen = {name: own(user, "/api/contracts/") for name, user in market.users.items()}
    # then
    contract_proposal = market.contract.proposal_id
    invitation = market.private.invitations.get().pk
    assert lists == {
        "bea": ([], []),
        "bob": ([], []),
        "pia": ([contract_proposal, market.proposal.pk], []),
        "sam": ([], []),
        "ivy": ([], [invitation]),
        "dana": ([], []),
    }
    assert contracts_seen == {
        "bea": [market.contract.pk],
        "bob": [],
        "pia": [market.contract.pk],
        "sam": [],
        "ivy": [],
        "dana": [],
    }


def test_a_retired_offer_shows_to_its_provider_only(market: Market) -> None:
    # given pia's retired offer
    url = f"/api/offers/{market.retired_offer.pk}/"
    # when
    statuses = {name: client_of(user).get(url).status_code for name, user in market.users.items()}
    listed = [offer["id"] for offer in client_of(market.users["bob"]).get("/api/offers/").json()]
    # then
    assert statuses == {"bea": 404, "bob": 404, "pia": 200, "sam": 404, "ivy": 404, "dana": 404}
    assert listed == [market.offer.pk]


def test_the_endorser_s_endpoint_needs_no_account_but_a_known_token(market: Market) -> None:
    # given
    before = market_state()
    # when an unknown token is used, read and written
    read = Client().get("/api/endorsements/not-a-token/")
    written = Client().post(
        "/api/endorsements/not-a-token/", {"text": "Great."}, content_type="application/json"
    )
    # then
    assert (read.status_code, written.status_code) == (404, 404)
    assert read.json() == error("not_found", "No such endorsement request.")
    assert written.json() == error("not_found", "No such endorsement request.")
    assert market_state() == before


def test_a_buyer_cannot_invite_itself(market: Market) -> None:
    # given dana, buyer and provider at once, with a project of her own
    dana = market.users["dana"]
    own = project_listed(dana)
    before = market_state()
    # when she invites herself
    response = client_of(dana).post(
        f"/api/projects/{own.pk}/invitations/",
        {"provider": dana.pk},
        content_type="application/json",
    )
    # then
    assert response.status_code == 403
    assert response.json() == error("own_project", "You cannot invite yourself.")
    assert market_state() == before


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/projects/"),
        ("post", "/api/projects/{private}/proposals/"),
        ("get", "/api/contracts/{contract}/"),
        ("post", "/api/offers/{offer}/retire/"),
    ],
)
def test_a_banned_member_is_refused_everywhere(market: Market, method: str, url: str) -> None:
    # given pia, banned
    pia = market.users["pia"]
    User.objects.filter(pk=pia.pk).update(standing=User.Standing.BANNED)
    before = market_state()
    # when
    response = call(client_of(pia), method, url, market)
    # then
    assert response.status_code == 403
    assert response.json() == error("banned", "This account is banned.")
    assert market_state() == before
