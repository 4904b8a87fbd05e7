"""Proposals racing for the free-bid quota, run for real on PostgreSQL.

Every proposal that costs a bid locks its provider's ``BidAllowance`` row of the month: two
proposals sent at the same moment queue on that lock, and the second sees the first's count.
So a last bid is spent once, and two proposals on one project spend one bid (the loser's
proposal breaks the partial unique constraint, and its whole transaction, bid included, rolls
back). Threads with their own database connections: this runs in the PostgreSQL pass
(``make pytest-services``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from typing import TypeVar

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from accounts.models import User
from chatbox.errors import ApplicationError
from chatbox.models import Conversation, Event
from projects import listings
from projects.errors import MarketErrorCode
from projects.models import BidAllowance, Engagement, Project, Proposal
from projects.taxonomy import taxonomy_sync
from tests.factories import UserFactory
from tests.postgres.test_concurrency import BARRIER_TIMEOUT
from tests.services import require_postgres

T = TypeVar("T")

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
TERMS = listings.ProposalTerms(
    cover_letter="I have done this before.", amount=45000, currency="EUR", duration_days=14
)


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """``test_concurrency.all_at_once``, but each thread opens its database connection before
    the barrier: the threads then start the race together, not one connection apart."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=BARRIER_TIMEOUT)
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _listing(buyer: User, title: str) -> Project:
    return listings.project_post(
        buyer=buyer,
        title=title,
        description="",
        category="design",
        skills=["logo-design"],
        budget=listings.Budget(amount=50000, currency="EUR"),
    )


def _send(provider: User, project_id: int) -> Proposal | ApplicationError:
    try:
        return listings.proposal_submit(
            provider=provider, project_id=project_id, terms=TERMS, now=NOW
        ).proposal
    except ApplicationError as refused:
        return refused


# Without the allowance's row lock the two would both read the count before either wrote it;
# whether a round shows that depends on the threads' timing, so the race is run a few times.
ROUNDS = 5


def _send_to(provider: User, projects: list[int], index: int) -> Proposal | ApplicationError:
    return _send(provider, projects[index])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_proposals_racing_for_the_last_bid_spend_it_once(settings: Settings) -> None:
    require_postgres()
    taxonomy_sync()
    settings.BID_QUOTA_MONTHLY = 3
    buyer = UserFactory(username="bea", is_buyer=True)
    for round_ in range(ROUNDS):
        # given a provider with exactly one bid of three left, and two projects it has not
        # bid on
        provider = UserFactory(username=f"pia{round_}", is_provider=True)
        for title in ("Earlier one", "Earlier two"):
            _send(provider, _listing(buyer, title).pk)
        assert BidAllowance.objects.get(provider=provider).used == 2
        racing = [_listing(buyer, "Logo").pk, _listing(buyer, "Sign").pk]

        # when the provider sends a proposal on each at the same moment
        outcomes = all_at_once(2, partial(_send_to, provider, racing))

        # then one is stored and the other is refused as over the quota
        sent = [outcome for outcome in outcomes if isinstance(outcome, Proposal)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, ApplicationError)]
        assert (len(sent), len(refused)) == (1, 1), f"round {round_}: {outcomes}"
        assert (refused[0].code, refused[0].extra) == (
            MarketErrorCode.BID_QUOTA_EXHAUSTED,
            {"renews_on": "2025-04-01", "quota": 3},
        )
        assert list(
            BidAllowance.objects.filter(provider=provider).values_list("month", "used")
        ) == [(date(2025, 3, 1), 3)]
        assert list(Proposal.objects.filter(project__in=racing).values_list("pk", flat=True)) == [
            sent[0].pk
        ]
        # and only the winner's project has a chat, holding its one proposal event
        winner = Engagement.objects.get(project__in=racing)
        assert winner.project_id == sent[0].project_id
        racing_events = Event.objects.filter(
            conversation__engagement__project__in=racing, data__event="proposal_sent"
        )
        assert list(racing_events.values_list("conversation", "data__proposal")) == [
            (winner.conversation_id, sent[0].pk)
        ]
    # three chats per provider: two earlier proposals and the winner
    assert Conversation.objects.count() == 3 * ROUNDS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_proposals_on_one_project_store_one_and_spend_one_bid() -> None:
    require_postgres()
    # given a provider with bids to spare, and a project
    taxonomy_sync()
    buyer = UserFactory(username="bea", is_buyer=True)
    provider = UserFactory(username="pia", is_provider=True)
    project = _listing(buyer, "Logo")

    # when it sends two proposals on the project at the same moment
    outcomes = all_at_once(2, lambda _: _send(provider, project.pk))

    # then one is stored, the other is refused as a second proposal
    sent = [outcome for outcome in outcomes if isinstance(outcome, Proposal)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ApplicationError)]
    assert (len(sent), len(refused)) == (1, 1)
    assert refused[0].code == MarketErrorCode.PROPOSAL_EXISTS
    assert list(Proposal.objects.values_list("pk", "project", "provider")) == [
        (sent[0].pk, project.pk, provider.pk)
    ]
    # and exactly one bid is spent, one chat opened, one proposal event posted
    assert list(BidAllowance.objects.values_list("provider", "month", "used")) == [
        (provider.pk, date(2025, 3, 1), 1)
    ]
    engagement = Engagement.objects.get()
    assert list(Conversation.objects.values_list("pk", flat=True)) == [engagement.conversation_id]
    assert list(
        Event.objects.filter(data__event="proposal_sent").values_list("data__proposal", flat=True)
    ) == [sent[0].pk]
