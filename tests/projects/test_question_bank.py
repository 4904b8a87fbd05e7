"""The shipped question bank: a quiz for every skill of the taxonomy, fit to be drawn from."""

from __future__ import annotations

from collections import Counter

from projects.assessments import OPTIONS_PER_QUESTION, QUESTIONS_PER_ATTEMPT, question_bank
from projects.taxonomy import taxonomy_read


def taxonomy_slugs() -> list[str]:
    return [skill["slug"] for category in taxonomy_read() for skill in category["skills"]]


def test_every_taxonomy_skill_has_a_quiz_of_at_least_one_attempt() -> None:
    # given the taxonomy's skills
    skills = taxonomy_slugs()
    # when
    bank = question_bank()
    # then: a skill added to the taxonomy fails here until its questions are written
    assert [slug for slug in skills if slug not in bank] == []
    assert {
        slug: len(questions)
        for slug, questions in bank.items()
        if len(questions) < QUESTIONS_PER_ATTEMPT
    } == {}


def test_always_choosing_the_same_option_is_no_strategy() -> None:
    # when: for each skill, the option position holding the most right answers
    bank = question_bank()
    most_common_share = {
        slug: Counter(question.answer for question in questions).most_common(1)[0][1]
        / len(questions)
        for slug, questions in bank.items()
    }
    # then: no position holds more than half of a skill's right answers
    assert {slug: share for slug, share in most_common_share.items() if share > 0.5} == {}
    assert all(len(q.options) == OPTIONS_PER_QUESTION for qs in bank.values() for q in qs)


def test_question_ids_name_their_skill_and_no_question_is_asked_twice() -> None:
    bank = question_bank()
    assert [q.id for qs in bank.values() for q in qs if not q.id.startswith(f"{q.skill}-")] == []
    assert {
        slug: [text for text, count in Counter(q.text for q in questions).items() if count > 1]
        for slug, questions in bank.items()
        if len({q.text for q in questions}) != len(questions)
    } == {}
