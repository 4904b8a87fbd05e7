"""Pages of skills assessments: the quizzes a provider can take, and one quiz.

Thin like the profile pages: reads and writes go through ``projects.assessments``, which
keeps the time on the server; the page only shows a countdown to the server's deadline.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from projects import assessments
from projects.errors import AssessmentErrorCode
from projects.models import AssessmentAttempt


def _not_provider(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/assessment_not_provider.html", status=403)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def assessment_list(request: HttpRequest) -> HttpResponse:
    provider = cast(User, request.user)
    if not provider.is_provider:
        return _not_provider(request)
    error: ApplicationError | None = None
    if request.method == "POST":
        try:
            attempt = assessments.assessment_start(
                provider=provider, skill_slug=request.POST.get("skill", "")
            )
        except ApplicationError as refused:
            running = refused.extra.get("attempt")
            if refused.code == AssessmentErrorCode.IN_PROGRESS and running:
                return redirect("frontend:assessment", attempt_id=running)
            error = refused
        else:
            return redirect("frontend:assessment", attempt_id=attempt.pk)
    context = {
        "catalogue": assessments.assessment_catalogue(provider=provider),
        "attempts": [
            {"attempt": attempt, "status": assessments.attempt_status(attempt)}
            for attempt in assessments.assessment_attempts_of(provider=provider)
        ],
        "error": error,
        "pass_mark": assessments.PASS_MARK,
        "per_attempt": assessments.QUESTIONS_PER_ATTEMPT,
    }
    return render(request, "frontend/assessments.html", context, status=400 if error else 200)


def _quiz_page(
    request: HttpRequest,
    attempt: AssessmentAttempt,
    *,
    chosen: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    refusal: ApplicationError | None = None,
    status: int = 200,
) -> HttpResponse:
    chosen = chosen or {}
    errors = errors or {}
    results = {r["question"]: r for r in assessments.attempt_results(attempt)}
    questions = [
        {
            "number": number,
            "question": question,
            "options": list(enumerate(question.options)),
            "chosen": chosen.get(question.id, attempt.answers.get(question.id)),
            "errors": errors.get(question.id, []),
            "result": results.get(question.id),
        }
        for number, question in enumerate(assessments.attempt_questions(attempt), start=1)
    ]
    context = {
        "attempt": attempt,
        "status": assessments.attempt_status(attempt),
        "questions": questions,
        "errors": errors,
        "refusal": refusal,
        "pass_mark": assessments.PASS_MARK,
    }
    return render(request, "frontend/assessment.html", context, status=status)


def _posted_answers(request: HttpRequest, attempt: AssessmentAttempt) -> dict[str, Any]:
    """The radio buttons as the service takes them; an unreadable choice stays as typed."""
    answers: dict[str, Any] = {}
    for question_id in attempt.question_ids:
        value = request.POST.get(f"answer-{question_id}")
        if value is not None:
            answers[question_id] = int(value) if value.isdigit() else value
    return answers


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def assessment_detail(request: HttpRequest, attempt_id: int) -> HttpResponse:
    provider = cast(User, request.user)
    if not provider.is_provider:
        return _not_provider(request)
    try:
        attempt = assessments.assessment_for_provider(provider=provider, attempt_id=attempt_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    if request.method != "POST":
        return _quiz_page(request, attempt)
    answers = _posted_answers(request, attempt)
    try:
        assessments.assessment_submit(attempt_id=attempt.pk, provider=provider, answers=answers)
    except ApplicationError as refused:
        if refused.code == ErrorCode.INVALID:
            fields = refused.extra.get("answers", {})
            return _quiz_page(request, attempt, chosen=answers, errors=fields, status=400)
        attempt.refresh_from_db()
        return _quiz_page(request, attempt, chosen=answers, refusal=refused, status=400)
    return redirect("frontend:assessment", attempt_id=attempt.pk)
