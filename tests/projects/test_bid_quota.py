"""The monthly free-bid quota: spent by proposals, not by invited ones, not given back by a
withdrawal, renewed on the first day of each month (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from chatbox.errors import ApplicationError
from projects import listings
from projects.models import BidAllowance, Engagement, Proposal
from tests.projects.deals import error, market_state, project_listed, proposal_of
from tests.projects.market import PROPOSAL, buyer, client_of, post, proposal_sent, provider

pytestmark = pytest.mark.django_db

TERMS = listings.ProposalTerms(
    cover_letter="I have done this before.", amount=45000, currency="EUR", duration_days=14
)


def first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def this_month() -> tuple[date, date]:
    """This month's first day and the next month's, in UTC."""
    today = timezone.now().astimezone(UTC).date()
    return today.replace(day=1), first_of_next_month(today)


def test_a_new_provider_has_ten_free_bids_this_month(taxonomy: None) -> None:
    # given
    pia = provider()
    _, renews_on = this_month()
    # when
    response = client_of(pia).get("/api/account/bids/")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "quota": 10,
        "used": 0,
        "left": 10,
        "renews_on": renews_on.isoformat(),
    }


def test_the_eleventh_proposal_of_a_month_is_429_and_stores_nothing(taxonomy: None) -> None:
    # given eleven projects, and a provider who bid on ten of them
    bea, pia = buyer(), provider()
    projects = [project_listed(bea, title=f"Logo {n}") for n in range(11)]
    pia_client = client_of(pia)
    left = [proposal_sent(pia_client, project.pk)["bids_left"] for project in projects[:10]]
    assert left == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    month, renews_on = this_month()
    before = market_state()
    # when the provider sends the eleventh
    response = post(pia_client, f"/api/projects/{projects[10].pk}/proposals/", PROPOSAL)
    # then it is refused with the renewal date, and nothing is stored: no proposal, no
    # engagement or chat for that project, no bid spent
    assert response.status_code == 429
    assert response.json() == error(
        "bid_quota_exhausted",
        f"You have used this month's 10 free bids; they renew on {renews_on:%-d %B %Y}.",
        {"renews_on": renews_on.isoformat(), "quota": 10},
    )
    assert market_state() == before
    assert not Proposal.objects.filter(project=projects[10]).exists()
    assert not Engagement.objects.filter(project=projects[10]).exists()
    assert list(BidAllowance.objects.values_list("provider", "month", "used")) == [
        (pia.pk, month, 10)
    ]
    assert pia_client.get("/api/account/bids/").json() == {
        "quota": 10,
        "used": 10,
        "left": 0,
        "renews_on": renews_on.isoformat(),
    }


def test_a_lowered_quota_is_spent_likewise(taxonomy: None, settings: Settings) -> None:
    # given a quota of two, spent
    settings.BID_QUOTA_MONTHLY = 2
    bea, pia = buyer(), provider()
    first, second, third = (project_listed(bea, title=f"Logo {n}") for n in range(3))
    pia_client = client_of(pia)
    sent = [proposal_sent(pia_client, project.pk) for project in (first, second)]
    _, renews_on = this_month()
    before = market_state()
    # when
    response = post(pia_client, f"/api/projects/{third.pk}/proposals/", PROPOSAL)
    # then
    assert [(s["bids_left"], s["bids_renew_on"]) for s in sent] == [
        (1, renews_on.isoformat()),
        (0, renews_on.isoformat()),
    ]
    assert response.status_code == 429
    assert response.json()["error"]["fields"] == {"renews_on": renews_on.isoformat(), "quota": 2}
    assert market_state() == before


def test_a_proposal_on_a_project_the_provider_was_invited_to_is_free(
    taxonomy: None, settings: Settings
) -> None:
    # given a provider whose one free bid is spent, invited to another project
    settings.BID_QUOTA_MONTHLY = 1
    bea, pia = buyer(), provider()
    spent_on, invited_to = project_listed(bea, title="Logo"), project_listed(bea, title="Sign")
    proposal_of(pia, spent_on)
    listings.invitation_send(buyer=bea, project_id=invited_to.pk, provider_id=pia.pk)
    pia_client = client_of(pia)
    # when the provider bids on the project it was invited to
    sent = proposal_sent(pia_client, invited_to.pk)
    # then the proposal costs no bid, and the bids are as they were
    assert (sent["costs_bid"], sent["bids_left"]) == (False, 0)
    assert Proposal.objects.get(pk=sent["id"]).costs_bid is False
    assert BidAllowance.objects.get(provider=pia).used == 1
    assert pia_client.get("/api/account/bids/").json()["used"] == 1


def test_withdrawing_a_proposal_does_not_give_its_bid_back(
    taxonomy: None, settings: Settings
) -> None:
    # given a quota of two, and one proposal sent
    settings.BID_QUOTA_MONTHLY = 2
    bea, pia = buyer(), provider()
    project, other = project_listed(bea, title="Logo"), project_listed(bea, title="Sign")
    pia_client = client_of(pia)
    sent = proposal_sent(pia_client, project.pk)
    # when it is withdrawn
    withdrawn = post(pia_client, f"/api/proposals/{sent['id']}/withdraw/")
    # then the bid stays spent
    assert (withdrawn.status_code, withdrawn.json()["state"]) == (200, "withdrawn")
    assert pia_client.get("/api/account/bids/").json()["left"] == 1
    # and a new bid on the same project costs again, which spends the quota
    again = proposal_sent(pia_client, project.pk)
    assert (again["costs_bid"], again["bids_left"]) == (True, 0)
    refused = post(pia_client, f"/api/projects/{other.pk}/proposals/", PROPOSAL)
    assert refused.status_code == 429
    assert BidAllowance.objects.get(provider=pia).used == 2
    assert list(
        Proposal.objects.filter(provider=pia).order_by("pk").values_list("project", "state")
    ) == [(project.pk, "withdrawn"), (project.pk, "submitted")]


def test_a_declined_proposal_does_not_give_its_bid_back(taxonomy: None, settings: Settings) -> None:
    # given
    settings.BID_QUOTA_MONTHLY = 2
    bea, pia = buyer(), provider()
    project = project_listed(bea)
    sent = proposal_sent(client_of(pia), project.pk)
    # when the buyer declines it
    declined = post(client_of(bea), f"/api/proposals/{sent['id']}/decline/")
    # then
    assert (declined.status_code, declined.json()["state"]) == (200, "declined")
    assert client_of(pia).get("/api/account/bids/").json()["left"] == 1


JAN_31_LAST_MINUTE = datetime(2025, 1, 31, 23, 59, tzinfo=UTC)
FEB_1_MIDNIGHT = datetime(2025, 2, 1, 0, 0, tzinfo=UTC)


def test_the_quota_renews_on_the_first_day_of_the_month(taxonomy: None, settings: Settings) -> None:
    # given a quota of one, spent in the last minute of January (UTC)
    settings.BID_QUOTA_MONTHLY = 1
    bea, pia = buyer(), provider()
    january, late, february = (project_listed(bea, title=f"Logo {n}") for n in range(3))
    spent = listings.proposal_submit(
        provider=pia, project_id=january.pk, terms=TERMS, now=JAN_31_LAST_MINUTE
    )
    assert (spent.bids.used, spent.bids.left, spent.bids.renews_on) == (1, 0, date(2025, 2, 1))
    # when another bid comes a second before midnight, and one at midnight
    with pytest.raises(ApplicationError) as refused:
        listings.proposal_submit(
            provider=pia,
            project_id=late.pk,
            terms=TERMS,
            now=FEB_1_MIDNIGHT - timedelta(microseconds=1),
        )
    renewed = listings.proposal_submit(
        provider=pia, project_id=february.pk, terms=TERMS, now=FEB_1_MIDNIGHT
    )
    # then the first is refused until 1 February, the second spends February's bid
    assert (refused.value.code, refused.value.extra) == (
        "bid_quota_exhausted",
        {"renews_on": "2025-02-01", "quota": 1},
    )
    assert refused.value.message == (
        "You have used this month's 1 free bid; they renew on 1 February 2025."
    )
    assert (renewed.bids.used, renewed.bids.left, renewed.bids.renews_on) == (
        1,
        0,
        date(2025, 3, 1),
    )
    assert list(BidAllowance.objects.order_by("month").values_list("month", "used")) == [
        (date(2025, 1, 1), 1),
        (date(2025, 2, 1), 1),
    ]
    assert list(Proposal.objects.order_by("pk").values_list("project", "created_at")) == [
        (january.pk, JAN_31_LAST_MINUTE),
        (february.pk, FEB_1_MIDNIGHT),
    ]
    assert not Engagement.objects.filter(project=late).exists()


@pytest.mark.parametrize(
    ("now", "used", "renews_on"),
    [
        (JAN_31_LAST_MINUTE, 1, date(2025, 2, 1)),
        (FEB_1_MIDNIGHT, 0, date(2025, 3, 1)),
        # 00:30 on 1 February in Paris is still January in UTC
        (datetime(2025, 2, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris")), 1, date(2025, 2, 1)),
        (datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 0, date(2024, 3, 1)),
        (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), 0, date(2026, 1, 1)),
    ],
)
def test_the_quota_counts_the_bids_of_the_utc_month_of_now(
    taxonomy: None, now: datetime, used: int, renews_on: date
) -> None:
    # given one bid spent on 31 January (UTC)
    bea, pia = buyer(), provider()
    listings.proposal_submit(
        provider=pia, project_id=project_listed(bea).pk, terms=TERMS, now=JAN_31_LAST_MINUTE
    )
    # when
    quota = listings.bid_quota_of(provider=pia, now=now)
    # then
    assert quota == listings.BidQuota(quota=10, used=used, renews_on=renews_on)
    assert quota.left == 10 - used
