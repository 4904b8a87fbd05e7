"""Two starts of one skill's assessment at the same moment, run for real on PostgreSQL.

Both starts may pass the service's own check for a running attempt before either inserts;
the partial unique constraint (one unscored attempt per provider and skill) then lets one
insert win, and the loser is refused as ``assessment_in_progress``. Threads with their own
database connections, so this runs in the PostgreSQL pass (``make pytest-services``).
"""

from __future__ import annotations

import pytest

from chatbox.errors import ApplicationError
from projects.assessments import assessment_start
from projects.errors import AssessmentErrorCode
from projects.models import AssessmentAttempt
from projects.taxonomy import taxonomy_sync
from tests.factories import UserFactory
from tests.postgres.test_concurrency import all_at_once
from tests.services import require_postgres


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_starts_of_one_skill_create_one_attempt() -> None:
    require_postgres()
    # given a provider, and the skills a transactional test's flush has removed
    taxonomy_sync()
    provider = UserFactory(username="provider", is_provider=True)

    def start(_: int) -> AssessmentAttempt | ApplicationError:
        try:
            return assessment_start(provider=provider, skill_slug="python")
        except ApplicationError as refused:
            return refused

    # when both start at once
    outcomes = all_at_once(2, start)

    # then one attempt is created and the other start is told that it runs
    started = [outcome for outcome in outcomes if isinstance(outcome, AssessmentAttempt)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ApplicationError)]
    assert (len(started), len(refused)) == (1, 1)
    attempt = AssessmentAttempt.objects.get()
    assert attempt.pk == started[0].pk
    assert (refused[0].code, refused[0].message, refused[0].extra["attempt"]) == (
        AssessmentErrorCode.IN_PROGRESS,
        "An assessment of this skill is already running.",
        attempt.pk,
    )
    # and the database holds exactly that one open attempt
    open_attempts = AssessmentAttempt.objects.filter(
        provider=provider, skill__slug="python", score__isnull=True
    )
    assert list(open_attempts.values_list("pk", flat=True)) == [attempt.pk]
