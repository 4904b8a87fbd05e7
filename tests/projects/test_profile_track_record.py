"""A provider's profile shows its track record: figures, reviews with the contract's title, and
endorsements apart from reviews, in the API and on the page alike."""

from __future__ import annotations

import pytest

from projects.contracts import contract_end, proposal_accept
from projects.listings import Budget, ProposalTerms, project_post, proposal_submit
from projects.track_record import endorsement_give, endorsement_request, review_write
from tests.projects.market import buyer, client_of
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db


def test_reviews_endorsements_and_figures_show_on_the_profile(taxonomy: None, mailoutbox) -> None:
    # given a completed contract the buyer reviewed, and an endorsement given by e-mail link
    pia, bea = provider_with_profile(username="pia", display_name="Pia"), buyer("bea")
    project = project_post(
        buyer=bea,
        title="Bakery logo",
        description="",
        category="design",
        skills=["logo-design"],
        budget=Budget(amount=50000, currency="EUR"),
    )
    terms = ProposalTerms(cover_letter="Hello", amount=50000, currency="EUR", duration_days=7)
    proposal = proposal_submit(provider=pia, project_id=project.pk, terms=terms).proposal
    contract = proposal_accept(buyer=bea, proposal_id=proposal.pk)
    contract_end(user=bea, contract_id=contract.pk, outcome="completed")
    review_write(author=bea, contract_id=contract.pk, rating=4, text="Lovely work.")
    asked = endorsement_request(
        provider=pia,
        name="Carl Client",
        email="carl@example.com",
        relationship="client",
        base_url="http://testserver/",
    )
    endorsement_give(token=asked.link.rstrip("/").rsplit("/", 1)[1], text="Reliable and kind.")
    # when a stranger reads the profile, over the API and on the page
    body = client_of(buyer("bob")).get("/api/profiles/pia/").json()
    page = client_of(buyer("ben")).get("/profiles/pia/").content.decode()
    # then
    assert body["performance"] == {
        "contracts_ended": 1,
        "completion_rate": 1.0,
        "on_time_rate": None,
        "median_response_minutes": None,
        "dispute_rate": 0.0,
        "average_rating": 4.0,
        "reviews": 1,
    }
    assert [(r["contract"], r["rating"], r["text"]) for r in body["reviews"]] == [
        ("Bakery logo", 4, "Lovely work.")
    ]
    assert [(e["name"], e["relationship"], e["text"]) for e in body["endorsements"]] == [
        ("Carl Client", "client", "Reliable and kind.")
    ]
    assert "Lovely work." in page and "Reliable and kind." in page
    assert "4.0 of 5 (1 review)" in page
