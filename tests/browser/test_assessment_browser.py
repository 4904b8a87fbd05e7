"""A skills assessment, end to end in a real browser: the demo provider signs in, starts the
Logo design quiz, answers every question, submits, sees that it passed, and a visitor sees
the passed skill on the provider's public profile.

The test knows the right answers only because it reads the bank on the server side
(``attempt_questions``); the page it answers carries no sign of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from projects.assessments import Question, attempt_questions
from projects.models import AssessmentAttempt
from tests.browser.conftest import PASSWORD, Demo, outside_playwright

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RADIO_ATTRIBUTES = "id,name,required,type,value"


def test_a_provider_passes_a_quiz_and_the_profile_shows_it(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given: the demo provider signs in and opens the skills assessments
    page = open_page()
    page.goto("/")
    page.get_by_label("Username").fill("provider")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="Skills assessments", exact=True).click()
    expect(page.get_by_role("heading", name="Skills assessments", level=1)).to_be_visible()

    # when: she starts the Logo design quiz
    page.get_by_role("button", name="Start the Logo design quiz").click()
    expect(page.get_by_role("heading", name="Logo design assessment")).to_be_visible()
    expect(page.get_by_role("timer")).to_contain_text("Time left")
    found = re.search(r"/assessments/(\d+)/$", page.url)
    assert found is not None, page.url
    attempt_id = int(found.group(1))

    def drawn_questions() -> list[Question]:
        return attempt_questions(AssessmentAttempt.objects.get(pk=attempt_id))

    questions = outside_playwright(drawn_questions)
    # then: five questions of four options, none of them marked as the right one
    assert len(questions) == 5
    radios = page.get_by_role("radio")
    expect(radios).to_have_count(5 * 4)
    marks = radios.evaluate_all("radios => radios.map(r => r.getAttributeNames().sort().join())")
    assert marks == [RADIO_ATTRIBUTES] * 20

    # when: she chooses the right option of each question, by its label, and submits
    for number, question in enumerate(questions, start=1):
        fieldset = page.get_by_role("group", name=f"{number}. {question.text}", exact=True)
        fieldset.get_by_role("radio", name=question.options[question.answer], exact=True).check()
    page.get_by_role("button", name="Submit answers").click()

    # then: the quiz says she passed
    expect(page.get_by_role("status")).to_have_text(
        "Passed: 5 of 5 answers right. The result shows on your profile."
    )
    expect(page.get_by_role("button", name="Submit answers")).to_have_count(0)

    def stored_result() -> tuple[int | None, bool]:
        attempt = AssessmentAttempt.objects.get(pk=attempt_id)
        return attempt.score, attempt.passed

    assert outside_playwright(stored_result) == (5, True)

    # and a visitor sees the passed skill on her public profile
    visitor = open_page()
    visitor.goto("/profiles/provider/")
    passed = visitor.get_by_role("region", name="Skills assessments").get_by_role("listitem")
    expect(passed).to_have_text(["Logo design: passed, 5 of 5"])
