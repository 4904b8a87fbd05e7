"""Proposals: one live bid per provider and project, only on open projects, and a decided
proposal stays decided. Each refusal stores nothing and spends no bid."""

from __future__ import annotations

import pytest

from projects import listings
from projects.models import BidAllowance, Contract
from tests.projects.deals import error, market_state, project_listed, system_events
from tests.projects.market import PROPOSAL, buyer, client_of, post, proposal_sent, provider

pytestmark = pytest.mark.django_db


def test_a_proposal_is_posted_in_the_chat_it_opens(taxonomy: None) -> None:
    # given
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    # when
    sent = proposal_sent(client_of(pia), project.pk)
    # then the proposal is stored as sent, and the engagement's chat holds it
    assert {key: sent[key] for key in ("project", "amount", "currency", "duration_days")} == {
        "project": project.pk,
        "amount": 45000,
        "currency": "EUR",
        "duration_days": 14,
    }
    assert (sent["state"], sent["costs_bid"], sent["provider"]) == (
        "submitted",
        True,
        {"id": pia.pk, "name": "Pia"},
    )
    assert system_events(sent["conversation"]) == ["opened", "proposal_sent"]


def test_a_second_proposal_on_one_project_is_409_and_spends_nothing(taxonomy: None) -> None:
    # given a provider's proposal on a project
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    pia_client = client_of(pia)
    proposal_sent(pia_client, project.pk)
    before = market_state()
    # when it bids again
    response = post(pia_client, f"/api/projects/{project.pk}/proposals/", PROPOSAL)
    # then
    assert response.status_code == 409
    assert response.json() == error(
        "proposal_exists", "You have a proposal on this project already."
    )
    assert market_state() == before
    assert BidAllowance.objects.get(provider=pia).used == 1


@pytest.mark.parametrize("status", ["closed", "in_progress"])
def test_a_proposal_on_a_project_that_is_not_open_is_409(taxonomy: None, status: str) -> None:
    # given a public project no longer open
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    project.status = status
    project.save(update_fields=["status"])
    before = market_state()
    # when a provider bids on it
    response = post(client_of(pia), f"/api/projects/{project.pk}/proposals/", PROPOSAL)
    # then nothing is stored, no chat opened and no bid spent
    assert response.status_code == 409
    assert response.json() == error("project_not_open", "This project takes no proposals now.")
    assert market_state() == before


def test_a_closed_project_takes_no_proposal(taxonomy: None) -> None:
    # given a project its buyer has closed
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    closed = post(client_of(bea), f"/api/projects/{project.pk}/close/")
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    before = market_state()
    # when
    response = post(client_of(pia), f"/api/projects/{project.pk}/proposals/", PROPOSAL)
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (409, "project_not_open")
    assert market_state() == before
    assert client_of(pia).get("/api/projects/").json()["count"] == 0


@pytest.mark.parametrize(("decision", "by"), [("decline", "bea"), ("withdraw", "pia")])
def test_a_declined_or_withdrawn_proposal_cannot_be_accepted(
    taxonomy: None, decision: str, by: str
) -> None:
    # given a proposal declined by the buyer, or withdrawn by its provider
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    decided = post(
        client_of({"bea": bea, "pia": pia}[by]), f"/api/proposals/{sent['id']}/{decision}/"
    )
    state = {"decline": "declined", "withdraw": "withdrawn"}[decision]
    assert (decided.status_code, decided.json()["state"]) == (200, state)
    before = market_state()
    # when the buyer accepts it
    response = post(client_of(bea), f"/api/proposals/{sent['id']}/accept/")
    # then no contract, no event
    assert response.status_code == 409
    assert response.json() == error(
        "proposal_not_pending", f"This proposal is {state} already.", {"state": state}
    )
    assert market_state() == before
    assert not Contract.objects.exists()
    assert system_events(sent["conversation"]) == ["opened", "proposal_sent", f"proposal_{state}"]


@pytest.mark.parametrize(
    ("first", "then", "state"),
    [
        ("accept", "decline", "accepted"),
        ("accept", "withdraw", "accepted"),
        ("decline", "withdraw", "declined"),
        ("withdraw", "decline", "withdrawn"),
        ("decline", "decline", "declined"),
    ],
)
def test_a_decided_proposal_is_not_decided_again(
    taxonomy: None, first: str, then: str, state: str
) -> None:
    # given a proposal decided once
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    by = {"accept": bea, "decline": bea, "withdraw": pia}
    decided = post(client_of(by[first]), f"/api/proposals/{sent['id']}/{first}/")
    assert decided.status_code == (201 if first == "accept" else 200)
    before = market_state()
    # when
    response = post(client_of(by[then]), f"/api/proposals/{sent['id']}/{then}/")
    # then
    assert response.status_code == 409
    assert response.json() == error(
        "proposal_not_pending", f"This proposal is {state} already.", {"state": state}
    )
    assert market_state() == before


def test_a_proposal_on_a_closed_project_cannot_be_accepted(taxonomy: None) -> None:
    # given a proposal, and the project closed after it came
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    listings.project_close(buyer=bea, project_id=project.pk)
    before = market_state()
    # when
    response = post(client_of(bea), f"/api/proposals/{sent['id']}/accept/")
    # then
    assert response.status_code == 409
    assert response.json() == error("project_not_open", "This project is closed.")
    assert market_state() == before
