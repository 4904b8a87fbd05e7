"""Skills assessments: a short timed quiz per skill, from the question bank shipped as data.

The bank is ``projects/data/questions.json``; ``question_bank()`` reads and validates it once.
A provider starts an attempt (``assessment_start``), which draws ``QUESTIONS_PER_ATTEMPT``
questions at random and gives ``settings.ASSESSMENT_MINUTES`` to answer them, and submits it
(``assessment_submit``), which scores it on the server against the server's clock. The right
answers stay in the bank: they leave the server neither before nor after a submission, only
whether each answer was right.

Rules (see docs/profiles.md): one open attempt per provider and skill (a database
constraint); a passed skill is not taken again; after a failed attempt, or one whose time ran
out, the next may start ``RETRY_AFTER`` later.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from projects.errors import AssessmentErrorCode
from projects.models import AssessmentAttempt, Skill
from projects.taxonomy import taxonomy_read

QUESTIONS_FILE = Path(__file__).resolve().parent / "data" / "questions.json"
QUESTIONS_PER_ATTEMPT = 5
OPTIONS_PER_QUESTION = 4
PASS_MARK = 4  # right answers out of QUESTIONS_PER_ATTEMPT
RETRY_AFTER = timedelta(hours=24)


ASSESSMENT_NOT_FOUND = "No such assessment."

# -- the question bank -----------------------------------------------------------------------------


class QuestionBankError(ValueError):
    """The shipped question bank is malformed: a defect of the release, not of a request."""


@dataclass(frozen=True)
class Question:
    id: str
    skill: str
    text: str
    options: tuple[str, ...]
    answer: int  # index into options; never serialised for a client


def _taxonomy_slugs() -> set[str]:
    return {skill["slug"] for category in taxonomy_read() for skill in category["skills"]}


def _question(source: str, skill: str, position: int, entry: Any) -> Question:
    where = f"{source}: question {position + 1} of skill {skill!r}"
    if not isinstance(entry, dict):
        raise QuestionBankError(f"{where}: expected an object.")
    question_id, text, options, answer = (
        entry.get(key) for key in ("id", "question", "options", "answer")
    )
    if not isinstance(question_id, str) or not question_id.strip():
        raise QuestionBankError(f"{where}: 'id' must be a non-empty string.")
    where = f"{source}: question {question_id!r} of skill {skill!r}"
    if not isinstance(text, str) or not text.strip():
        raise QuestionBankError(f"{where}: 'question' must be a non-empty string.")
    if (
        not isinstance(options, list)
        or len(options) != OPTIONS_PER_QUESTION
        or not all(isinstance(option, str) and option.strip() for option in options)
        or len(set(options)) != len(options)
    ):
        raise QuestionBankError(
            f"{where}: 'options' must be {OPTIONS_PER_QUESTION} different non-empty strings."
        )
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
        raise QuestionBankError(
            f"{where}: answer index {answer!r} is out of range 0 to {len(options) - 1}."
        )
    return Question(id=question_id, skill=skill, text=text, options=tuple(options), answer=answer)


def question_bank_read(path: Path = QUESTIONS_FILE) -> dict[str, tuple[Question, ...]]:
    """Read and validate a question bank: skill slug → its questions, in the file's order.

    Raises ``QuestionBankError`` naming the first problem: a skill the taxonomy does not know,
    too few questions for one attempt, a repeated question id, a malformed question, or an
    answer index outside its options.
    """
    try:
        with path.open(encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise QuestionBankError(f"{path.name}: cannot read the question bank: {error}") from error
    skills = data.get("skills") if isinstance(data, dict) else None
    if not isinstance(skills, dict):
        raise QuestionBankError(f"{path.name}: expected an object with 'skills'.")
    known = _taxonomy_slugs()
    bank: dict[str, tuple[Question, ...]] = {}
    seen: set[str] = set()
    for skill, entries in skills.items():
        if skill not in known:
            raise QuestionBankError(f"{path.name}: unknown skill slug {skill!r}.")
        if not isinstance(entries, list) or len(entries) < QUESTIONS_PER_ATTEMPT:
            raise QuestionBankError(
                f"{path.name}: skill {skill!r} needs at least {QUESTIONS_PER_ATTEMPT} questions."
            )
        questions = tuple(_question(path.name, skill, i, entry) for i, entry in enumerate(entries))
        for question in questions:
            if question.id in seen:
                raise QuestionBankError(f"{path.name}: question id {question.id!r} is repeated.")
            seen.add(question.id)
        bank[skill] = questions
    return bank


@functools.cache
def question_bank() -> dict[str, tuple[Question, ...]]:
    """The shipped bank, read once per process."""
    return question_bank_read()


@functools.cache
def _questions_by_id() -> dict[str, Question]:
    return {q.id: q for questions in question_bank().values() for q in questions}


def attempt_questions(attempt: AssessmentAttempt) -> list[Question]:
    """The questions of an attempt, in the order they were drawn.

    A question id is never reused or removed from the bank while attempts may name it.
    """
    by_id = _questions_by_id()
    return [by_id[question_id] for question_id in attempt.question_ids]


# -- reads -----------------------------------------------------------------------------------------


def require_provider(provider: User) -> None:
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers take skills assessments.")


def attempt_status(attempt: AssessmentAttempt, *, now: datetime | None = None) -> str:
    """``running``, ``expired`` (open, out of time), ``passed`` or ``failed``."""
    if attempt.is_open:
        return "running" if (now or timezone.now()) <= attempt.deadline else "expired"
    return "passed" if attempt.passed else "failed"


def _finished_at(attempt: AssessmentAttempt) -> datetime:
    """When an attempt ended: its submission, or its deadline if it ran out of time."""
    return attempt.submitted_at or attempt.deadline


def _retry_at(attempts: list[AssessmentAttempt], *, now: datetime) -> datetime | None:
    """When a new attempt may start after the last failed (or timed-out) one, if not yet."""
    failed = [a for a in attempts if not a.passed and (not a.is_open or a.deadline < now)]
    if not failed:
        return None
    retry_at = max(_finished_at(a) for a in failed) + RETRY_AFTER
    return retry_at if retry_at > now else None


def assessment_attempts_of(*, provider: User) -> QuerySet[AssessmentAttempt]:
    """The provider's attempts, newest first."""
    require_provider(provider)
    return AssessmentAttempt.objects.filter(provider=provider).select_related("skill")


def assessment_for_provider(*, provider: User, attempt_id: int) -> AssessmentAttempt:
    """One of the provider's own attempts; anybody else's is ``not_found`` like a missing one."""
    require_provider(provider)
    attempt = (
        AssessmentAttempt.objects.filter(pk=attempt_id, provider=provider)
        .select_related("skill")
        .first()
    )
    if attempt is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, ASSESSMENT_NOT_FOUND)
    return attempt


def assessments_passed(*, provider: User) -> list[AssessmentAttempt]:
    """The provider's passed assessments, one per skill, in the taxonomy's order.

    Shown on the profile: the caller has already decided that the viewer may see it.
    """
    return list(
        AssessmentAttempt.objects.filter(provider=provider, passed=True)
        .select_related("skill")
        .order_by("skill__category__position", "skill__position", "submitted_at")
    )


@dataclass(frozen=True)
class SkillQuiz:
    """A skill with a quiz, and where the provider stands with it."""

    skill: Skill
    questions: int
    passed: AssessmentAttempt | None
    running: AssessmentAttempt | None
    retry_at: datetime | None

    @property
    def may_start(self) -> bool:
        return self.passed is None and self.running is None and self.retry_at is None


def assessment_catalogue(*, provider: User) -> list[SkillQuiz]:
    """Every skill of the bank, in the taxonomy's order, with the provider's standing on it."""
    require_provider(provider)
    now = timezone.now()
    bank = question_bank()
    by_skill: dict[int, list[AssessmentAttempt]] = {}
    for attempt in AssessmentAttempt.objects.filter(provider=provider):
        by_skill.setdefault(attempt.skill_id, []).append(attempt)
    catalogue = []
    for skill in Skill.objects.filter(slug__in=list(bank)).select_related("category"):
        attempts = by_skill.get(skill.pk, [])
        running = [a for a in attempts if attempt_status(a, now=now) == "running"]
        passed = [a for a in attempts if a.passed]
        catalogue.append(
            SkillQuiz(
                skill=skill,
                questions=QUESTIONS_PER_ATTEMPT,
                passed=passed[0] if passed else None,
                running=running[0] if running else None,
                retry_at=None if passed else _retry_at(attempts, now=now),
            )
        )
    return catalogue


def attempt_results(attempt: AssessmentAttempt) -> list[dict[str, Any]]:
    """For a submitted attempt: each question, the option chosen, and whether it was right."""
    if attempt.submitted_at is None:
        return []
    return [
        {
            "question": question.id,
            "chosen": attempt.answers.get(question.id),
            "correct": attempt.answers.get(question.id) == question.answer,
        }
        for question in attempt_questions(attempt)
    ]


# -- writes ----------------------------------------------------------------------------------------


def _close_expired(*, provider: User, skill: Skill, now: datetime) -> None:
    """Score an open attempt whose time ran out as failed (0, never submitted).

    A conditional update: a submission that wins the race first keeps its own score.
    """
    AssessmentAttempt.objects.filter(
        provider=provider, skill=skill, score__isnull=True, deadline__lt=now
    ).update(score=0, passed=False)


def assessment_start(*, provider: User, skill_slug: str) -> AssessmentAttempt:
    """Start a timed attempt on a skill: questions drawn at random, the deadline set.

    Refused with ``assessment_in_progress`` while another attempt on the skill runs,
    ``assessment_already_passed`` once the skill is passed, and ``assessment_cooldown`` (with
    ``retry_at``) within ``RETRY_AFTER`` of a failed or timed-out attempt.
    """
    require_provider(provider)
    questions = question_bank().get(skill_slug)
    skill = Skill.objects.filter(slug=skill_slug).first() if questions else None
    if questions is None or skill is None:
        raise ApplicationError(
            ErrorCode.INVALID,
            "The request is not valid.",
            {"skill": [f"There is no assessment for the skill {skill_slug!r}."]},
        )
    now = timezone.now()
    _close_expired(provider=provider, skill=skill, now=now)
    attempts = list(AssessmentAttempt.objects.filter(provider=provider, skill=skill))
    running = next((a for a in attempts if a.is_open), None)
    if running is not None:
        raise ApplicationError(
            AssessmentErrorCode.IN_PROGRESS,
            "An assessment of this skill is already running.",
            {"attempt": running.pk, "deadline": running.deadline.isoformat()},
        )
    if any(a.passed for a in attempts):
        raise ApplicationError(
            AssessmentErrorCode.ALREADY_PASSED, "You have passed this assessment already."
        )
    retry_at = _retry_at(attempts, now=now)
    if retry_at is not None:
        raise ApplicationError(
            AssessmentErrorCode.COOLDOWN,
            f"You can take this assessment again {RETRY_AFTER.total_seconds() / 3600:.0f} "
            "hours after a failed attempt.",
            {"retry_at": retry_at.isoformat()},
        )
    drawn = random.SystemRandom().sample(questions, QUESTIONS_PER_ATTEMPT)
    try:
        # Two starts at once: the constraint lets one insert win; the other is told it runs.
        with transaction.atomic():
            return AssessmentAttempt.objects.create(
                provider=provider,
                skill=skill,
                started_at=now,
                deadline=now + timedelta(minutes=settings.ASSESSMENT_MINUTES),
                question_ids=[question.id for question in drawn],
            )
    except IntegrityError:
        running = AssessmentAttempt.objects.filter(
            provider=provider, skill=skill, score__isnull=True
        ).first()
        raise ApplicationError(
            AssessmentErrorCode.IN_PROGRESS,
            "An assessment of this skill is already running.",
            {"attempt": running.pk if running else None},
        ) from None


def _answer_errors(attempt: AssessmentAttempt, answers: Mapping[str, object]) -> dict[str, Any]:
    """Every question of the attempt answered once with an option's index; nothing else."""
    errors: dict[str, list[str]] = {}
    for question_id in answers:
        if question_id not in attempt.question_ids:
            errors[str(question_id)] = ["Not a question of this assessment."]
    for question in attempt_questions(attempt):
        if question.id not in answers:
            errors[question.id] = ["Choose one of the options."]
            continue
        chosen = answers[question.id]
        if isinstance(chosen, bool) or not isinstance(chosen, int):
            errors[question.id] = ["An answer is the index of an option."]
        elif not 0 <= chosen < len(question.options):
            errors[question.id] = [f"Choose one of the {len(question.options)} options."]
    return errors


def assessment_submit(
    *, attempt_id: int, provider: User, answers: Mapping[str, object]
) -> AssessmentAttempt:
    """Score the provider's answers, if they came in time; the scored attempt.

    Checked against the server's clock: after the deadline the submission is refused
    (``assessment_expired``) and nothing is stored, like any invalid set of answers.
    """
    now = timezone.now()
    attempt = assessment_for_provider(provider=provider, attempt_id=attempt_id)
    if not attempt.is_open:
        raise ApplicationError(
            AssessmentErrorCode.CLOSED, "This assessment has been submitted already."
        )
    if now > attempt.deadline:
        raise ApplicationError(
            AssessmentErrorCode.EXPIRED,
            "The time for this assessment is over.",
            {"deadline": attempt.deadline.isoformat()},
        )
    errors = _answer_errors(attempt, answers)
    if errors:
        raise ApplicationError(ErrorCode.INVALID, "The answers are not valid.", {"answers": errors})
    chosen = {question_id: cast(int, answers[question_id]) for question_id in attempt.question_ids}
    score = sum(chosen[q.id] == q.answer for q in attempt_questions(attempt))
    # Conditional update: of two submissions at once, only the first is scored.
    scored = AssessmentAttempt.objects.filter(pk=attempt.pk, score__isnull=True).update(
        answers=chosen, submitted_at=now, score=score, passed=score >= PASS_MARK
    )
    if scored != 1:
        raise ApplicationError(
            AssessmentErrorCode.CLOSED, "This assessment has been submitted already."
        )
    attempt.refresh_from_db()
    return attempt
