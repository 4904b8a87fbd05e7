"""The marketplace's main path: a buyer posts, a provider bids, the buyer accepts, and the
contract lives in the engagement's chatbox."""

from __future__ import annotations

import pytest

from chatbox.models import Event
from chatbox.services import conversation_chain_verify
from projects.models import Contract, Proposal
from tests.projects.market import (
    buyer,
    client_of,
    post,
    project_posted,
    proposal_sent,
    provider,
)
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db


def _system_events(conversation_id: str) -> list[str]:
    events = Event.objects.filter(conversation_id=conversation_id, kind="system").order_by("seq")
    return [event.data["event"] for event in events]


def test_post_bid_accept_makes_a_contract_in_the_chat(taxonomy: None) -> None:
    # given a buyer's project and a provider's proposal on it
    bea, pia = buyer(), provider()
    bea_client, pia_client = client_of(bea), client_of(pia)
    project = project_posted(bea_client)
    sent = proposal_sent(pia_client, project["id"])
    assert (sent["bids_left"], sent["costs_bid"]) == (9, True)
    # when the buyer accepts it
    response = post(bea_client, f"/api/proposals/{sent['id']}/accept/")
    # then a contract on the proposal's terms, with one milestone for the whole amount
    assert response.status_code == 201, response.json()
    contract = response.json()
    assert contract["conversation"] == sent["conversation"]
    assert (contract["amount"], contract["currency"], contract["kind"]) == (45000, "EUR", "fixed")
    assert [(m["title"], m["amount"]) for m in contract["milestones"]] == [("Bakery logo", 45000)]
    assert Proposal.objects.get(pk=sent["id"]).state == "accepted"
    assert Contract.objects.get().state == "active"
    # and the chat holds the proposal, the acceptance and the contract, in a chain that verifies
    assert _system_events(sent["conversation"]) == [
        "opened",
        "proposal_sent",
        "proposal_accepted",
        "contract_started",
        "milestone_added",
    ]
    assert conversation_chain_verify(conversation_id=sent["conversation"]).ok


def test_an_invitation_shows_a_private_profile_to_the_inviting_buyer_only(
    taxonomy: None,
) -> None:
    # given a provider with a private profile, and two buyers, one with a project
    pia = provider_with_profile(username="pia", visibility="private")
    bea, bob = buyer("bea"), buyer("bob")
    bea_client, bob_client = client_of(bea), client_of(bob)
    project = project_posted(bea_client)
    assert bea_client.get("/api/profiles/pia/").status_code == 404
    # when bea invites pia to her project
    response = post(bea_client, f"/api/projects/{project['id']}/invitations/", {"provider": pia.pk})
    # then bea sees the profile; bob, not connected, still gets 404, and search still hides it
    assert response.status_code == 201
    assert bea_client.get("/api/profiles/pia/").status_code == 200
    assert bob_client.get("/api/profiles/pia/").status_code == 404
    assert bea_client.get("/api/providers/?q=pia").json()["count"] == 0
