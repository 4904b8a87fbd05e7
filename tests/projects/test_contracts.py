"""Contracts: made by accepting a proposal (with or without milestones) or by buying an offer,
run in the engagement's chat, milestones delivered, and ended by either party."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from chatbox.models import Event, Participant
from chatbox.services import ChainVerdict, conversation_chain_verify, data_keys, event_payload
from projects import contracts
from projects.models import Contract, Milestone, Project, Proposal
from tests.projects.deals import (
    contract_of,
    error,
    market_state,
    project_listed,
    proposal_of,
    system_events,
)
from tests.projects.market import buyer, client_of, post, proposal_sent, provider

pytestmark = pytest.mark.django_db

TWO_MILESTONES = [
    {"title": "Sketches", "amount": 15000, "due_on": "2030-01-10"},
    {"title": "Final files", "amount": 30000, "due_on": "2030-01-24"},
]


def said(conversation_id: uuid.UUID | str) -> list[tuple[str, str]]:
    """The conversation's system events as ``(data.event, body)``, opened from their seals."""
    keys = data_keys(conversation_id=uuid.UUID(str(conversation_id)))
    events = Event.objects.filter(conversation_id=conversation_id, kind=Event.Kind.SYSTEM)
    return [
        (event.data["event"], event_payload(event=event, keys=keys)["body"])
        for event in events.order_by("seq")
    ]


def milestones_of(contract: dict[str, Any]) -> list[tuple[str, int, str | None, str | None]]:
    return [
        (row["title"], row["amount"], row["due_on"], row["delivered_at"])
        for row in contract["milestones"]
    ]


def test_accepting_with_milestones_makes_them_and_posts_each(taxonomy: None) -> None:
    # given a provider's proposal of 450.00 EUR on a fixed-price project
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    # when the buyer accepts it in two milestones that add up to it
    response = post(
        client_of(bea), f"/api/proposals/{sent['id']}/accept/", {"milestones": TWO_MILESTONES}
    )
    # then
    assert response.status_code == 201, response.json()
    contract = response.json()
    assert milestones_of(contract) == [
        ("Sketches", 15000, "2030-01-10", None),
        ("Final files", 30000, "2030-01-24", None),
    ]
    assert (contract["state"], contract["outcome"], contract["proposal"]) == (
        "active",
        None,
        sent["id"],
    )
    assert Project.objects.get(pk=project.pk).status == "in_progress"
    ids = [row["id"] for row in contract["milestones"]]
    added = Event.objects.filter(data__event="milestone_added").order_by("seq")
    assert [event.data for event in added] == [
        {
            "event": "milestone_added",
            "contract": contract["id"],
            "milestone": ids[0],
            "title": "Sketches",
            "amount": 15000,
            "due_on": "2030-01-10",
        },
        {
            "event": "milestone_added",
            "contract": contract["id"],
            "milestone": ids[1],
            "title": "Final files",
            "amount": 30000,
            "due_on": "2030-01-24",
        },
    ]
    assert said(contract["conversation"])[2:] == [
        ("proposal_accepted", "Bea accepted the proposal."),
        ("contract_started", "Contract started: Bakery logo, 450.00 EUR."),
        ("milestone_added", "Milestone added: Sketches, 150.00 EUR, due 10 January 2030."),
        ("milestone_added", "Milestone added: Final files, 300.00 EUR, due 24 January 2030."),
    ]
    assert conversation_chain_verify(conversation_id=contract["conversation"]).ok


def test_accepting_without_milestones_makes_one_for_the_whole_amount(taxonomy: None) -> None:
    # given
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    # when
    response = post(client_of(bea), f"/api/proposals/{sent['id']}/accept/")
    # then one milestone, due after the proposal's 14 days
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    assert milestones_of(response.json()) == [("Bakery logo", 45000, due, None)]


@pytest.mark.parametrize(
    ("milestones", "total"),
    [
        ([{"title": "Sketches", "amount": 15000}, {"title": "Files", "amount": 20000}], 35000),
        ([{"title": "Sketches", "amount": 15000}, {"title": "Files", "amount": 40000}], 55000),
        ([], 0),
    ],
)
def test_fixed_price_milestones_that_do_not_add_up_are_400_and_nothing_is_stored(
    taxonomy: None, milestones: list[dict[str, Any]], total: int
) -> None:
    # given a proposal of 45000 on a fixed-price project
    bea, pia = buyer(), provider()
    proposal = proposal_of(pia, project_listed(bea), amount=45000)
    before = market_state()
    # when the buyer accepts it with milestones of another total
    response = post(
        client_of(bea), f"/api/proposals/{proposal.pk}/accept/", {"milestones": milestones}
    )
    # then no contract, the proposal still pending, the project still open, no event
    assert response.status_code == 400
    assert response.json() == error(
        "invalid",
        "The request is not valid.",
        {"milestones": [f"The milestones of a fixed price add up to it: {total} ≠ 45000."]},
    )
    assert market_state() == before
    assert Proposal.objects.get(pk=proposal.pk).state == "submitted"


def test_an_hourly_contract_takes_milestones_of_any_total_or_none(taxonomy: None) -> None:
    # given two proposals on an hourly project
    bea, pia, pat = buyer(), provider("pia"), provider("pat")
    project = project_listed(bea, amount=4000, kind="hourly")
    with_milestones, without = proposal_of(pia, project, amount=4500), proposal_of(pat, project)
    # when the buyer accepts one with a milestone, the other without
    first = post(
        client_of(bea),
        f"/api/proposals/{with_milestones.pk}/accept/",
        {"milestones": [{"title": "First week", "amount": 160000}]},
    )
    second = post(client_of(bea), f"/api/proposals/{without.pk}/accept/")
    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert milestones_of(first.json()) == [("First week", 160000, None, None)]
    assert milestones_of(second.json()) == []
    assert (first.json()["kind"], first.json()["amount"]) == ("hourly", 4500)
    assert ("contract_started", "Contract started: Bakery logo, 45.00 EUR per hour.") in said(
        first.json()["conversation"]
    )


OFFER = {
    "title": "A logo in a week",
    "included": "Three sketches, two rounds of changes, the files.",
    "category": "design",
    "price": {"amount": 30000, "currency": "EUR"},
    "delivery_days": 7,
}


def test_buying_an_offer_makes_a_contract_an_invite_only_project_and_a_chat(
    taxonomy: None,
) -> None:
    # given a provider's published offer
    pia, bob, sam = provider("pia"), buyer("bob"), provider("sam")
    published = post(client_of(pia), "/api/offers/", OFFER)
    assert published.status_code == 201, published.json()
    offer = published.json()
    # when a buyer buys it
    response = post(client_of(bob), f"/api/offers/{offer['id']}/buy/")
    # then a fixed-price contract with one milestone due after the delivery time
    assert response.status_code == 201, response.json()
    contract = response.json()
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    assert (contract["offer"], contract["proposal"], contract["kind"]) == (
        offer["id"],
        None,
        "fixed",
    )
    assert (contract["buyer"], contract["provider"]) == (
        {"id": bob.pk, "name": "Bob"},
        {"id": pia.pk, "name": "Pia"},
    )
    assert (contract["amount"], contract["currency"]) == (30000, "EUR")
    assert milestones_of(contract) == [("A logo in a week", 30000, due, None)]
    # and a project of its own: invite-only, in progress, never listed
    project = Project.objects.get(pk=contract["project"])
    assert (project.buyer, project.offer_id, project.status, project.visibility) == (
        bob,
        offer["id"],
        "in_progress",
        "invite_only",
    )
    assert client_of(sam).get("/api/projects/").json()["count"] == 0
    seen = {
        name: client_of(user).get(f"/api/projects/{project.pk}/").status_code
        for name, user in {"bob": bob, "pia": pia, "sam": sam}.items()
    }
    assert seen == {"bob": 200, "pia": 200, "sam": 404}
    # and the chat between the two, with the contract in its chain
    members = Participant.objects.filter(conversation_id=contract["conversation"])
    assert sorted(members.values_list("user__username", "role")) == [
        ("bob", "buyer"),
        ("pia", "provider"),
    ]
    assert system_events(contract["conversation"]) == [
        "opened",
        "contract_started",
        "milestone_added",
    ]
    assert conversation_chain_verify(conversation_id=contract["conversation"]) == ChainVerdict(
        ok=True, events=3
    )


def test_a_retired_offer_cannot_be_bought(taxonomy: None) -> None:
    # given
    pia, bob = provider("pia"), buyer("bob")
    offer_id = post(client_of(pia), "/api/offers/", OFFER).json()["id"]
    retired = post(client_of(pia), f"/api/offers/{offer_id}/retire/")
    assert (retired.status_code, retired.json()["active"]) == (200, False)
    before = market_state()
    # when
    response = post(client_of(bob), f"/api/offers/{offer_id}/buy/")
    # then
    assert response.status_code == 409
    assert response.json() == error("offer_inactive", "This offer is no longer sold.")
    assert market_state() == before


@pytest.mark.parametrize(
    "account", [{"is_active": False}, {"standing": User.Standing.BANNED}], ids=["closed", "banned"]
)
def test_an_offer_of_an_account_no_longer_on_the_marketplace_cannot_be_bought(
    taxonomy: None, account: dict[str, Any]
) -> None:
    # given an offer whose provider's account was then closed, or banned
    pia, bob = provider("pia"), buyer("bob")
    offer_id = post(client_of(pia), "/api/offers/", OFFER).json()["id"]
    User.objects.filter(pk=pia.pk).update(**account)
    before = market_state()
    # when
    response = post(client_of(bob), f"/api/offers/{offer_id}/buy/")
    # then it is not sold, and not listed either
    assert response.status_code == 409
    assert response.json() == error("offer_inactive", "This offer is no longer sold.")
    assert market_state() == before
    assert client_of(bob).get("/api/offers/").json() == []


def test_a_contract_s_life_is_told_in_its_chat_and_the_chain_verifies(taxonomy: None) -> None:
    # given a proposal, accepted
    bea, pia = buyer(), provider()
    bea_client, pia_client = client_of(bea), client_of(pia)
    project = project_listed(bea)
    sent = proposal_sent(pia_client, project.pk)
    contract = post(bea_client, f"/api/proposals/{sent['id']}/accept/").json()
    url = f"/api/contracts/{contract['id']}"
    # when a milestone is added, both are delivered and the provider ends it as completed
    added = post(
        bea_client, f"{url}/milestones/", {"title": "Business cards", "amount": 12000}
    ).json()
    for milestone in (contract["milestones"][0]["id"], added["id"]):
        assert post(pia_client, f"{url}/milestones/{milestone}/deliver/").status_code == 200
    ended = post(pia_client, f"{url}/end/", {"outcome": "completed", "note": "Thank you!"})
    # then
    assert ended.status_code == 200, ended.json()
    assert (ended.json()["state"], ended.json()["outcome"]) == ("ended", "completed")
    due = timezone.localdate() + timedelta(days=14)
    assert said(contract["conversation"]) == [
        ("opened", "Conversation opened."),
        ("proposal_sent", "Pia sent a proposal: 450.00 EUR, 14 days."),
        ("proposal_accepted", "Bea accepted the proposal."),
        ("contract_started", "Contract started: Bakery logo, 450.00 EUR."),
        ("milestone_added", f"Milestone added: Bakery logo, 450.00 EUR, due {due:%-d %B %Y}."),
        ("milestone_added", "Milestone added: Business cards, 120.00 EUR."),
        ("milestone_delivered", "Pia delivered the milestone: Bakery logo."),
        ("milestone_delivered", "Pia delivered the milestone: Business cards."),
        ("contract_ended", "Pia ended the contract (completed)."),
    ]
    assert conversation_chain_verify(conversation_id=contract["conversation"]) == ChainVerdict(
        ok=True, events=9
    )
    # and the project's last contract has ended: the project is closed
    assert Project.objects.get(pk=project.pk).status == "closed"


def test_a_provider_s_early_end_is_recorded_as_withdrawn_with_its_time(taxonomy: None) -> None:
    # given an active contract with an undelivered milestone
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    started = timezone.now()
    # when the provider ends it early
    response = post(
        client_of(pia),
        f"/api/contracts/{contract.pk}/end/",
        {"outcome": "withdrawn", "note": "  A family emergency.  "},
    )
    # then it is recorded as withdrawn, by the provider, at the time it happened
    finished = timezone.now()
    assert response.status_code == 200, response.json()
    stored = Contract.objects.get(pk=contract.pk)
    assert (stored.state, stored.outcome, stored.ended_by, stored.end_note) == (
        "ended",
        "withdrawn",
        pia,
        "A family emergency.",
    )
    assert stored.ended_at is not None and started <= stored.ended_at <= finished
    assert (response.json()["outcome"], response.json()["ended_at"]) == (
        "withdrawn",
        stored.ended_at.isoformat(),
    )
    assert Event.objects.filter(data__event="contract_ended").get().data == {
        "event": "contract_ended",
        "contract": contract.pk,
        "outcome": "withdrawn",
        "ended_by": pia.pk,
        "ended_at": stored.ended_at.isoformat(),
    }
    assert said(contract.engagement.conversation_id)[-1] == (
        "contract_ended",
        "Pia ended the contract (withdrawn by the provider).",
    )


BUYER_OUTCOMES = "End it as one of: completed, cancelled."
PROVIDER_OUTCOMES = "End it as one of: completed, withdrawn."
DELIVER_FIRST = "Deliver every milestone before ending as completed, or end it as withdrawn."


@pytest.mark.parametrize(
    ("who", "outcome", "refusal"),
    [
        ("bea", "completed", None),
        ("bea", "cancelled", None),
        ("bea", "withdrawn", BUYER_OUTCOMES),
        ("pia", "withdrawn", None),
        ("pia", "cancelled", PROVIDER_OUTCOMES),
        ("pia", "completed", DELIVER_FIRST),
    ],
)
def test_each_party_ends_a_contract_with_the_outcomes_of_its_role(
    taxonomy: None, who: str, outcome: str, refusal: str | None
) -> None:
    # given an active contract whose one milestone is not delivered
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    party = {"bea": bea, "pia": pia}[who]
    before = market_state()
    # when
    response = post(client_of(party), f"/api/contracts/{contract.pk}/end/", {"outcome": outcome})
    # then
    if refusal is None:
        assert response.status_code == 200, response.json()
        stored = Contract.objects.get(pk=contract.pk)
        assert (stored.state, stored.outcome, stored.ended_by) == ("ended", outcome, party)
    else:
        assert response.status_code == 400
        assert response.json() == error(
            "invalid", "The request is not valid.", {"outcome": [refusal]}
        )
        assert market_state() == before


def test_an_unknown_outcome_is_400(taxonomy: None) -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    before = market_state()
    # when
    response = post(client_of(bea), f"/api/contracts/{contract.pk}/end/", {"outcome": "lost"})
    # then
    assert response.status_code == 400
    assert response.json() == error(
        "invalid", "The request is not valid.", {"outcome": ['"lost" is not a valid choice.']}
    )
    assert market_state() == before


def test_the_provider_ends_as_completed_once_every_milestone_is_delivered(taxonomy: None) -> None:
    # given a contract whose milestone the provider delivered
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    contracts.milestone_deliver(
        provider=pia, contract_id=contract.pk, milestone_id=contract.milestones.get().pk
    )
    # when
    response = post(client_of(pia), f"/api/contracts/{contract.pk}/end/", {"outcome": "completed"})
    # then
    assert (response.status_code, response.json()["outcome"]) == (200, "completed")


def test_a_milestone_is_delivered_once(taxonomy: None) -> None:
    # given an active contract
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    milestone = contract.milestones.get()
    url = f"/api/contracts/{contract.pk}/milestones/{milestone.pk}/deliver/"
    started = timezone.now()
    # when the provider delivers it
    delivered = post(client_of(pia), url)
    # then it is delivered now, and the chat says so
    finished = timezone.now()
    assert delivered.status_code == 200
    stored = Milestone.objects.get(pk=milestone.pk)
    assert stored.delivered_at is not None and started <= stored.delivered_at <= finished
    assert delivered.json()["delivered_at"] == stored.delivered_at.isoformat()
    assert Event.objects.filter(data__event="milestone_delivered").get().data == {
        "event": "milestone_delivered",
        "contract": contract.pk,
        "milestone": milestone.pk,
        "title": "Bakery logo",
        "amount": 45000,
        "due_on": milestone.due_on.isoformat() if milestone.due_on else None,
        "delivered_at": stored.delivered_at.isoformat(),
    }
    # and delivering it again is refused, changing nothing
    before = market_state()
    again = post(client_of(pia), url)
    assert again.status_code == 409
    assert again.json() == error("already_delivered", "This milestone is delivered already.")
    assert market_state() == before


def test_a_milestone_of_another_contract_is_404(taxonomy: None) -> None:
    # given two contracts of one provider
    bea, pia = buyer(), provider()
    first, second = contract_of(bea, pia, title="Logo"), contract_of(bea, pia, title="Sign")
    before = market_state()
    # when it delivers the second's milestone through the first
    other = second.milestones.get().pk
    response = post(client_of(pia), f"/api/contracts/{first.pk}/milestones/{other}/deliver/")
    # then
    assert response.status_code == 404
    assert response.json() == error("not_found", "No such milestone.")
    assert market_state() == before


@pytest.mark.parametrize("who", ["bea", "pia"])
def test_either_party_adds_a_milestone(taxonomy: None, who: str) -> None:
    # given an active contract
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    # when
    response = post(
        client_of({"bea": bea, "pia": pia}[who]),
        f"/api/contracts/{contract.pk}/milestones/",
        {"title": " Business cards ", "amount": 12000, "due_on": "2030-02-01"},
    )
    # then
    assert response.status_code == 201, response.json()
    assert (response.json()["title"], response.json()["amount"], response.json()["due_on"]) == (
        "Business cards",
        12000,
        "2030-02-01",
    )
    assert list(
        Milestone.objects.filter(contract=contract).values_list("title", "amount", "position")
    ) == [("Bakery logo", 45000, 0), ("Business cards", 12000, 1)]


def _ended(bea: User, pia: User) -> Contract:
    contract = contract_of(bea, pia)
    return contracts.contract_end(user=bea, contract_id=contract.pk, outcome="cancelled")


@pytest.mark.parametrize(
    ("who", "action", "body"),
    [
        ("bea", "milestones/", {"title": "More", "amount": 1000}),
        ("pia", "milestones/{milestone}/deliver/", {}),
        ("bea", "end/", {"outcome": "completed"}),
        ("pia", "end/", {"outcome": "withdrawn"}),
    ],
)
def test_an_ended_contract_changes_no_more(
    taxonomy: None, who: str, action: str, body: dict[str, Any]
) -> None:
    # given a contract the buyer cancelled
    bea, pia = buyer(), provider()
    contract = _ended(bea, pia)
    path = action.format(milestone=contract.milestones.get().pk)
    before = market_state()
    # when
    response = post(
        client_of({"bea": bea, "pia": pia}[who]), f"/api/contracts/{contract.pk}/{path}", body
    )
    # then
    assert response.status_code == 409
    assert response.json() == error("contract_ended", "This contract has ended.")
    assert market_state() == before


def test_a_project_stays_in_progress_while_one_of_its_contracts_runs(taxonomy: None) -> None:
    # given two contracts on one project, with two providers
    bea, pia, pat = buyer(), provider("pia"), provider("pat")
    project = project_listed(bea)
    proposals = [proposal_of(pia, project), proposal_of(pat, project)]
    first, second = (
        contracts.proposal_accept(buyer=bea, proposal_id=proposal.pk) for proposal in proposals
    )
    # when the first ends, then the second
    contracts.contract_end(user=bea, contract_id=first.pk, outcome="completed")
    between = Project.objects.get(pk=project.pk).status
    contracts.contract_end(user=bea, contract_id=second.pk, outcome="cancelled")
    # then
    assert (between, Project.objects.get(pk=project.pk).status) == ("in_progress", "closed")


def test_a_contract_shows_to_its_parties(taxonomy: None) -> None:
    # given
    bea, pia = buyer(), provider()
    contract = contract_of(bea, pia)
    # when
    seen = client_of(bea).get(f"/api/contracts/{contract.pk}/")
    # then
    assert seen.status_code == 200
    assert {key: seen.json()[key] for key in ("id", "title", "amount", "state")} == {
        "id": contract.pk,
        "title": "Bakery logo",
        "amount": 45000,
        "state": "active",
    }
    assert seen.json()["conversation"] == str(contract.engagement.conversation_id)
    assert Proposal.objects.get(contract=contract).state == "accepted"
