"""Services check text lengths themselves: a caller that is not the API (a web form, a
command) never reaches a column's limit, which PostgreSQL would answer with a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chatbox.errors import ApplicationError
from projects.contracts import OfferTerms, offer_publish
from projects.listings import Budget, invitation_send, project_post
from projects.models import (
    COVER_LETTER_MAX,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_TITLE_MAX,
    TITLE_MAX,
    Project,
)
from projects.track_record import endorsement_request
from tests.projects.deals import market_state
from tests.projects.market import buyer, provider

pytestmark = pytest.mark.django_db

LONG_TITLE = "t" * (PROJECT_TITLE_MAX + 1)
Attempt = Callable[[], object]


def _project(**changes: Any) -> Callable[[], Attempt]:
    """Builds what the attempt needs, then returns the attempt itself."""
    fields: dict[str, Any] = {
        "title": "Bakery logo",
        "description": "",
        "category": "design",
        "skills": [],
        "budget": Budget(amount=50000, currency="EUR"),
        **changes,
    }

    def prepare() -> Attempt:
        bea = buyer("bea")
        return lambda: project_post(buyer=bea, **fields)

    return prepare


def _offer(**changes: Any) -> Callable[[], Attempt]:
    fields: dict[str, Any] = {
        "title": "A logo",
        "included": "Three concepts",
        "category": "design",
        "price_amount": 30000,
        "price_currency": "EUR",
        "delivery_days": 7,
        **changes,
    }

    def prepare() -> Attempt:
        pia = provider("pia")
        return lambda: offer_publish(provider=pia, terms=OfferTerms(**fields))

    return prepare


def _invitation(message: str) -> Callable[[], Attempt]:
    def prepare() -> Attempt:
        project = _project()()()
        assert isinstance(project, Project)
        pia = provider("pia")
        return lambda: invitation_send(
            buyer=project.buyer, project_id=project.pk, provider_id=pia.pk, message=message
        )

    return prepare


def _endorsement(name: str, email: str) -> Callable[[], Attempt]:
    def prepare() -> Attempt:
        pia = provider("pia")
        return lambda: endorsement_request(
            provider=pia, name=name, email=email, relationship="client", base_url="http://x/"
        )

    return prepare


@pytest.mark.parametrize(
    ("prepare", "field"),
    [
        (_project(title=LONG_TITLE), "title"),
        (_project(description="d" * (PROJECT_DESCRIPTION_MAX + 1)), "description"),
        (_offer(title=LONG_TITLE), "title"),
        (_offer(included="i" * (PROJECT_DESCRIPTION_MAX + 1)), "included"),
        (_invitation("m" * (COVER_LETTER_MAX + 1)), "message"),
        (_endorsement("n" * (TITLE_MAX + 1), "carl@example.com"), "name"),
        (_endorsement("Carl", "not an address"), "email"),
    ],
)
def test_an_over_long_or_malformed_text_is_refused_by_the_service(
    taxonomy: None, prepare: Callable[[], Attempt], field: str
) -> None:
    # given
    attempt = prepare()
    before = market_state()
    # when
    with pytest.raises(ApplicationError) as refused:
        attempt()
    # then
    assert (refused.value.code, list(refused.value.extra)) == ("invalid", [field])
    assert market_state() == before
