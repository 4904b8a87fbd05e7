"""Skills assessments: the question bank, the timed attempt, its scoring, the API and pages."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from projects.assessments import (
    QuestionBankError,
    assessment_start,
    assessment_submit,
    attempt_questions,
    question_bank,
    question_bank_read,
)
from projects.models import AssessmentAttempt, Skill
from projects.taxonomy import taxonomy_read
from tests.factories import UserFactory
from tests.projects.profiles import provider_with_profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]


def signed_in_provider(client: Client, username: str = "provider") -> User:
    provider = UserFactory(username=username, is_provider=True)
    client.force_login(provider)
    return provider


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def answers_for(attempt: AssessmentAttempt, *, wrong: int = 0) -> dict[str, int]:
    """The right answers, except for the first ``wrong`` questions."""
    return {
        question.id: (question.answer + 1) % 4 if position < wrong else question.answer
        for position, question in enumerate(attempt_questions(attempt))
    }


def error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# -- the question bank -----------------------------------------------------------------------------


def test_the_shipped_bank_has_eight_or_more_questions_for_four_or_more_taxonomy_skills() -> None:
    # given the taxonomy's skills
    skills = {skill["slug"] for category in taxonomy_read() for skill in category["skills"]}
    # when
    bank = question_bank()
    # then
    assert len(bank) >= 4
    assert set(bank) <= skills
    assert all(len(questions) >= 8 for questions in bank.values())
    assert all(len(q.options) == 4 and 0 <= q.answer < 4 for qs in bank.values() for q in qs)


def write_bank(tmp_path: Path, skill: str, answer: Any = 0) -> Path:
    questions = [
        {"id": f"q{i}", "question": f"Question {i}?", "options": ["a", "b", "c", "d"], "answer": 0}
        for i in range(5)
    ]
    questions[2]["answer"] = answer
    path = tmp_path / "questions.json"
    path.write_text(json.dumps({"version": 1, "skills": {skill: questions}}), encoding="utf-8")
    return path


def test_a_bank_naming_an_unknown_skill_is_refused_at_load(tmp_path: Path) -> None:
    # given
    path = write_bank(tmp_path, "basket-weaving")
    # when / then
    with pytest.raises(QuestionBankError) as refused:
        question_bank_read(path)
    assert str(refused.value) == "questions.json: unknown skill slug 'basket-weaving'."


@pytest.mark.parametrize("answer", [4, -1, True, "0"])
def test_a_bank_with_an_answer_out_of_range_is_refused_at_load(tmp_path: Path, answer: Any) -> None:
    # given
    path = write_bank(tmp_path, "python", answer=answer)
    # when / then
    with pytest.raises(QuestionBankError) as refused:
        question_bank_read(path)
    assert str(refused.value) == (
        f"questions.json: question 'q2' of skill 'python': "
        f"answer index {answer!r} is out of range 0 to 3."
    )


def test_a_valid_bank_loads(tmp_path: Path) -> None:
    bank = question_bank_read(write_bank(tmp_path, "python", answer=3))
    assert [q.id for q in bank["python"]] == ["q0", "q1", "q2", "q3", "q4"]
    assert bank["python"][2].answer == 3


# -- starting --------------------------------------------------------------------------------------


def test_start_draws_five_questions_of_the_skill_and_sets_a_ten_minute_deadline(
    client: Client,
) -> None:
    # given
    provider = signed_in_provider(client)
    # when
    response = post_json(client, "/api/assessments/", {"skill": "python"})
    # then
    assert response.status_code == 201
    body = response.json()
    attempt = AssessmentAttempt.objects.get(provider=provider)
    assert body["id"] == attempt.pk
    assert body["skill"] == {"slug": "python", "name": "Python"}
    assert body["status"] == "running"
    assert body["score"] is None
    assert body["of"] == 5
    assert attempt.deadline - attempt.started_at == timedelta(minutes=10)
    bank_ids = {q.id for q in question_bank()["python"]}
    assert len(set(attempt.question_ids)) == 5
    assert set(attempt.question_ids) <= bank_ids
    assert [q["id"] for q in body["questions"]] == attempt.question_ids


def test_the_right_answers_do_not_leave_the_server_before_submission(client: Client) -> None:
    # given
    signed_in_provider(client)
    # when
    started = post_json(client, "/api/assessments/", {"skill": "sql"})
    shown = client.get(f"/api/assessments/{started.json()['id']}/")
    listed = client.get("/api/assessments/")
    # then: a question is its id, text and options, nothing else
    for response in (started, shown):
        assert all(set(q) == {"id", "question", "options"} for q in response.json()["questions"])
        assert "answer" not in response.content.decode()
        assert "results" not in response.json()
    assert "answer" not in listed.content.decode()


def test_one_open_attempt_per_skill_at_a_time(client: Client) -> None:
    # given a running attempt
    provider = signed_in_provider(client)
    first = post_json(client, "/api/assessments/", {"skill": "django"}).json()
    # when
    again = post_json(client, "/api/assessments/", {"skill": "django"})
    # then
    assert again.status_code == 409
    assert again.json() == error(
        "assessment_in_progress",
        "An assessment of this skill is already running.",
        {"attempt": first["id"], "deadline": first["deadline"]},
    )
    assert AssessmentAttempt.objects.filter(provider=provider).count() == 1
    # and another skill may run alongside
    assert post_json(client, "/api/assessments/", {"skill": "sql"}).status_code == 201


def test_the_database_refuses_a_second_open_attempt() -> None:
    # given
    provider = UserFactory(username="provider", is_provider=True)
    attempt = assessment_start(provider=provider, skill_slug="python")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentAttempt.objects.create(
            provider=provider,
            skill=attempt.skill,
            started_at=attempt.started_at,
            deadline=attempt.deadline,
            question_ids=attempt.question_ids,
        )
    assert AssessmentAttempt.objects.count() == 1


def test_an_unknown_skill_or_a_skill_without_a_quiz_is_invalid(client: Client) -> None:
    # given a skill row the bank has no quiz for: one a later taxonomy file dropped, which
    # taxonomy_sync leaves in the database (every skill of the file has a quiz)
    signed_in_provider(client)
    Skill.objects.create(
        slug="typesetting", name="Typesetting", category=Skill.objects.get(slug="python").category
    )
    # when
    unknown = post_json(client, "/api/assessments/", {"skill": "basket-weaving"})
    no_quiz = post_json(client, "/api/assessments/", {"skill": "typesetting"})
    missing = post_json(client, "/api/assessments/", {})
    # then
    assert unknown.status_code == no_quiz.status_code == missing.status_code == 400
    assert unknown.json() == error(
        "invalid",
        "The request is not valid.",
        {"skill": ["There is no assessment for the skill 'basket-weaving'."]},
    )
    assert no_quiz.json()["error"]["fields"] == {
        "skill": ["There is no assessment for the skill 'typesetting'."]
    }
    assert missing.json()["error"]["fields"] == {"skill": ["This field is required."]}
    assert AssessmentAttempt.objects.count() == 0


# -- scoring ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("wrong", "score", "passed"), [(0, 5, True), (1, 4, True), (2, 3, False)])
def test_submission_is_scored_on_the_server(
    client: Client, wrong: int, score: int, passed: bool
) -> None:
    # given a running attempt
    signed_in_provider(client)
    started = post_json(client, "/api/assessments/", {"skill": "python"}).json()
    attempt = AssessmentAttempt.objects.get(pk=started["id"])
    answers = answers_for(attempt, wrong=wrong)
    # when
    response = post_json(client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers})
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["of"], body["passed"]) == (score, 5, passed)
    assert body["status"] == ("passed" if passed else "failed")
    assert body["results"] == [
        {"question": question_id, "chosen": answers[question_id], "correct": position >= wrong}
        for position, question_id in enumerate(attempt.question_ids)
    ]
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed, attempt.answers) == (score, passed, answers)
    assert attempt.submitted_at is not None


def test_a_submission_after_the_deadline_is_refused_and_changes_nothing(client: Client) -> None:
    # given an attempt whose time is over
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="python")
    deadline = timezone.now() - timedelta(seconds=1)
    AssessmentAttempt.objects.filter(pk=attempt.pk).update(
        started_at=deadline - timedelta(minutes=10), deadline=deadline
    )
    # when
    response = post_json(
        client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers_for(attempt)}
    )
    # then
    assert response.status_code == 409
    assert response.json() == error(
        "assessment_expired",
        "The time for this assessment is over.",
        {"deadline": deadline.isoformat()},
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed, attempt.answers, attempt.submitted_at) == (
        None,
        False,
        {},
        None,
    )


def test_a_submitted_attempt_cannot_be_submitted_again(client: Client) -> None:
    # given a failed attempt
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="sql")
    assessment_submit(
        attempt_id=attempt.pk, provider=provider, answers=answers_for(attempt, wrong=5)
    )
    # when the right answers come after
    response = post_json(
        client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers_for(attempt)}
    )
    # then
    assert response.json() == error(
        "assessment_closed", "This assessment has been submitted already."
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed) == (0, False)


def test_invalid_answers_are_refused_with_fields_and_nothing_is_stored(client: Client) -> None:
    # given
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="javascript")
    first, second, third, fourth, fifth = attempt.question_ids
    answers: dict[str, Any] = {
        first: 4,  # out of range
        second: -1,  # out of range
        third: True,  # not an index
        fourth: "1",  # not an index
        "python-1": 0,  # not a question of this attempt
        # the fifth is missing
    }
    # when
    response = post_json(client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers})
    # then
    assert response.status_code == 400
    assert response.json() == error(
        "invalid",
        "The answers are not valid.",
        {
            "answers": {
                "python-1": ["Not a question of this assessment."],
                first: ["Choose one of the 4 options."],
                second: ["Choose one of the 4 options."],
                third: ["An answer is the index of an option."],
                fourth: ["An answer is the index of an option."],
                fifth: ["Choose one of the options."],
            }
        },
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.answers, attempt.submitted_at) == (None, {}, None)


def test_answers_that_are_not_an_object_are_invalid(client: Client) -> None:
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="python")
    response = post_json(client, f"/api/assessments/{attempt.pk}/submit/", {"answers": [1, 2]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == ["answers"]
    assert AssessmentAttempt.objects.get(pk=attempt.pk).score is None


def test_another_providers_attempt_is_not_found(client: Client) -> None:
    # given someone else's attempt
    owner = UserFactory(username="owner", is_provider=True)
    attempt = assessment_start(provider=owner, skill_slug="python")
    signed_in_provider(client, "other")
    # when
    shown = client.get(f"/api/assessments/{attempt.pk}/")
    submitted = post_json(
        client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers_for(attempt)}
    )
    # then
    assert shown.status_code == submitted.status_code == 404
    assert submitted.json() == error("not_found", "No such assessment.")
    assert AssessmentAttempt.objects.get(pk=attempt.pk).score is None


# -- retrying --------------------------------------------------------------------------------------


def test_after_a_failed_attempt_the_provider_retries_after_24_hours(client: Client) -> None:
    # given a failed attempt
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="python")
    failed = assessment_submit(
        attempt_id=attempt.pk, provider=provider, answers=answers_for(attempt, wrong=3)
    )
    assert failed.submitted_at is not None
    # when they start again at once
    response = post_json(client, "/api/assessments/", {"skill": "python"})
    # then
    assert response.status_code == 429
    assert response.json() == error(
        "assessment_cooldown",
        "You can take this assessment again 24 hours after a failed attempt.",
        {"retry_at": (failed.submitted_at + timedelta(hours=24)).isoformat()},
    )
    assert AssessmentAttempt.objects.filter(provider=provider).count() == 1
    # and a day later they may
    a_day_ago = timezone.now() - timedelta(hours=24, seconds=1)
    AssessmentAttempt.objects.filter(pk=attempt.pk).update(
        started_at=a_day_ago - timedelta(minutes=5),
        deadline=a_day_ago + timedelta(minutes=5),
        submitted_at=a_day_ago,
    )
    assert post_json(client, "/api/assessments/", {"skill": "python"}).status_code == 201


def test_an_attempt_whose_time_ran_out_counts_as_failed(client: Client) -> None:
    # given an attempt left unanswered past its deadline
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="django")
    deadline = timezone.now() - timedelta(minutes=1)
    AssessmentAttempt.objects.filter(pk=attempt.pk).update(
        started_at=deadline - timedelta(minutes=10), deadline=deadline
    )
    # when
    response = post_json(client, "/api/assessments/", {"skill": "django"})
    # then: closed as failed, and the cooldown runs from its deadline
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "assessment_cooldown"
    assert response.json()["error"]["fields"] == {
        "retry_at": (deadline + timedelta(hours=24)).isoformat()
    }
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed, attempt.submitted_at) == (0, False, None)


def test_a_passed_skill_is_not_taken_again(client: Client) -> None:
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="sql")
    assessment_submit(attempt_id=attempt.pk, provider=provider, answers=answers_for(attempt))
    response = post_json(client, "/api/assessments/", {"skill": "sql"})
    assert response.json() == error(
        "assessment_already_passed", "You have passed this assessment already."
    )
    assert AssessmentAttempt.objects.count() == 1


# -- who may --------------------------------------------------------------------------------------


def test_non_providers_are_refused(client: Client) -> None:
    # given a provider's attempt and a buyer
    provider = UserFactory(username="provider", is_provider=True)
    attempt = assessment_start(provider=provider, skill_slug="python")
    client.force_login(UserFactory(username="buyer", is_buyer=True))
    forbidden = error("forbidden", "Only providers take skills assessments.")
    # when / then
    assert post_json(client, "/api/assessments/", {"skill": "python"}).json() == forbidden
    assert client.get("/api/assessments/").json() == forbidden
    submitted = post_json(
        client, f"/api/assessments/{attempt.pk}/submit/", {"answers": answers_for(attempt)}
    )
    assert submitted.status_code == 403
    assert submitted.json() == forbidden
    assert AssessmentAttempt.objects.count() == 1
    assert AssessmentAttempt.objects.get().score is None


def test_anonymous_visitors_are_refused(client: Client) -> None:
    response = post_json(client, "/api/assessments/", {"skill": "python"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert AssessmentAttempt.objects.count() == 0


def test_the_list_shows_the_providers_attempts_newest_first(client: Client) -> None:
    provider = signed_in_provider(client)
    older = assessment_start(provider=provider, skill_slug="python")
    AssessmentAttempt.objects.filter(pk=older.pk).update(
        started_at=older.started_at - timedelta(seconds=1)
    )
    newer = assessment_start(provider=provider, skill_slug="sql")
    assessment_start(provider=UserFactory(username="other", is_provider=True), skill_slug="sql")
    listed = client.get("/api/assessments/").json()
    assert [(a["id"], a["skill"]["slug"], a["status"]) for a in listed] == [
        (newer.pk, "sql", "running"),
        (older.pk, "python", "running"),
    ]


# -- the profile -----------------------------------------------------------------------------------


def test_passed_assessments_show_in_the_profile_json(client: Client) -> None:
    # given a provider who passed python, failed sql and is taking django
    provider = provider_with_profile()
    python = assessment_start(provider=provider, skill_slug="python")
    passed = assessment_submit(
        attempt_id=python.pk, provider=provider, answers=answers_for(python, wrong=1)
    )
    sql = assessment_start(provider=provider, skill_slug="sql")
    assessment_submit(attempt_id=sql.pk, provider=provider, answers=answers_for(sql, wrong=2))
    assessment_start(provider=provider, skill_slug="django")
    assert passed.submitted_at is not None
    # when anyone reads the profile
    body = client.get("/api/profiles/provider/").json()
    # then
    assert body["assessments"] == [
        {
            "skill": "python",
            "name": "Python",
            "score": 4,
            "of": 5,
            "passed_at": passed.submitted_at.isoformat(),
        }
    ]


def test_a_profile_without_passed_assessments_lists_none(client: Client) -> None:
    provider_with_profile()
    assert client.get("/api/profiles/provider/").json()["assessments"] == []


# -- the pages -------------------------------------------------------------------------------------


def test_the_pages_start_a_quiz_submit_it_and_show_the_result(client: Client) -> None:
    # given a provider with a profile
    provider = provider_with_profile()
    client.force_login(provider)
    # when they open the list
    listing = client.get("/assessments/")
    # then every quiz of the bank is offered
    assert listing.status_code == 200
    assert "<button" in listing.content.decode()
    assert "Start the Python quiz</button>" in listing.content.decode()
    # when they start one
    started = client.post("/assessments/", {"skill": "python"})
    attempt = AssessmentAttempt.objects.get(provider=provider)
    assert started.status_code == 302
    assert started["Location"] == f"/assessments/{attempt.pk}/"
    quiz = client.get(f"/assessments/{attempt.pk}/").content.decode()
    # then: a fieldset and legend per question, labelled radios, a countdown to the deadline
    assert quiz.count('<fieldset class="fieldset">') == 5
    first = attempt_questions(attempt)[0]
    assert f"<legend>1. {first.text}</legend>" in quiz.replace("&quot;", '"').replace("&#x27;", "'")
    assert (
        f'<input type="radio" id="question-1-option-0" name="answer-{first.id}" value="0" required>'
        in quiz
    )
    assert '<label for="question-1-option-0">' in quiz
    assert 'role="timer"' in quiz
    assert f'data-deadline="{attempt.deadline.strftime("%Y-%m-%dT%H:%M:%S")}' in quiz
    # when they submit the right answers
    form = {f"answer-{qid}": str(index) for qid, index in answers_for(attempt).items()}
    submitted = client.post(f"/assessments/{attempt.pk}/", form)
    # then the result, and on the profile
    assert submitted.status_code == 302
    result = client.get(f"/assessments/{attempt.pk}/").content.decode()
    assert "Passed: 5 of 5 answers right." in result
    profile = client.get("/profiles/provider/").content.decode()
    assert '<li class="skill-tag">Python: passed, 5 of 5</li>' in profile


def test_the_quiz_page_keeps_choices_and_marks_unanswered_questions(client: Client) -> None:
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="sql")
    first, *_ = attempt.question_ids
    response = client.post(f"/assessments/{attempt.pk}/", {f"answer-{first}": "2"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "The answers were not sent" in html
    assert 'id="question-1-option-2" name="answer-' + first + '" value="2" checked' in html
    assert html.count('<p class="field__error"') == 4
    assert AssessmentAttempt.objects.get(pk=attempt.pk).score is None


def test_a_late_submission_on_the_page_is_refused(client: Client) -> None:
    provider = signed_in_provider(client)
    attempt = assessment_start(provider=provider, skill_slug="sql")
    deadline = timezone.now() - timedelta(seconds=1)
    AssessmentAttempt.objects.filter(pk=attempt.pk).update(
        started_at=deadline - timedelta(minutes=10), deadline=deadline
    )
    form = {f"answer-{qid}": str(index) for qid, index in answers_for(attempt).items()}
    response = client.post(f"/assessments/{attempt.pk}/", form)
    assert response.status_code == 400
    assert "The time for this assessment is over." in response.content.decode()
    assert AssessmentAttempt.objects.get(pk=attempt.pk).score is None


def test_the_pages_are_for_providers_only(client: Client) -> None:
    attempt = assessment_start(
        provider=UserFactory(username="provider", is_provider=True), skill_slug="python"
    )
    client.force_login(UserFactory(username="buyer", is_buyer=True))
    listing = client.get("/assessments/")
    assert listing.status_code == 403
    assert "Only providers take skills assessments" in listing.content.decode()
    assert client.get(f"/assessments/{attempt.pk}/").status_code == 403
    client.force_login(UserFactory(username="other", is_provider=True))
    assert client.get(f"/assessments/{attempt.pk}/").status_code == 404


def test_the_skill_rows_exist_for_every_quiz() -> None:
    assert set(
        Skill.objects.filter(slug__in=question_bank()).values_list("slug", flat=True)
    ) == set(question_bank())
