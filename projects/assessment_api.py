"""Skills assessments over HTTP (PROTOCOL.md §2): start, submit, list.

Thin like ``projects.api``: the rules live in ``projects.assessments``. A question goes out
with its options and never with its answer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from projects import assessments
from projects.models import AssessmentAttempt


def _provider(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class QuestionSerializer(serializers.Serializer):
    id = serializers.CharField()
    question = serializers.CharField()
    options = serializers.ListField(child=serializers.CharField())


class ResultSerializer(serializers.Serializer):
    question = serializers.CharField()
    chosen = serializers.IntegerField()
    correct = serializers.BooleanField()


class AttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    skill = serializers.DictField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=["running", "expired", "passed", "failed"])
    started_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    score = serializers.IntegerField(allow_null=True)
    of = serializers.IntegerField()
    passed = serializers.BooleanField()
    questions = QuestionSerializer(many=True, required=False)
    results = ResultSerializer(many=True, required=False)


def attempt_payload(attempt: AssessmentAttempt, *, with_questions: bool) -> dict[str, Any]:
    """An attempt as its provider sees it. The right answers are never part of it."""
    payload: dict[str, Any] = {
        "id": attempt.pk,
        "skill": {"slug": attempt.skill.slug, "name": attempt.skill.name},
        "status": assessments.attempt_status(attempt),
        "started_at": attempt.started_at.isoformat(),
        "deadline": attempt.deadline.isoformat(),
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        "score": attempt.score,
        "of": len(attempt.question_ids),
        "passed": attempt.passed,
    }
    if with_questions:
        payload["questions"] = [
            {"id": q.id, "question": q.text, "options": list(q.options)}
            for q in assessments.attempt_questions(attempt)
        ]
    if attempt.submitted_at is not None:
        payload["results"] = assessments.attempt_results(attempt)
    return payload


class StartInput(serializers.Serializer):
    skill = serializers.CharField(max_length=50)


class SubmitInput(serializers.Serializer):
    answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)

    def validate_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        if len(answers) > 100:
            raise serializers.ValidationError("Too many answers.")
        return answers


class AssessmentListView(APIView):
    @extend_schema(responses={200: AttemptSerializer(many=True)})
    def get(self, request: Request) -> Response:
        attempts = assessments.assessment_attempts_of(provider=_provider(request))
        return Response([attempt_payload(a, with_questions=False) for a in attempts])

    @extend_schema(request=StartInput, responses={201: AttemptSerializer})
    def post(self, request: Request) -> Response:
        provider = _provider(request)
        assessments.require_provider(provider)  # before parsing: 403 whatever the body
        form = StartInput(data=request.data)
        form.is_valid(raise_exception=True)
        attempt = assessments.assessment_start(
            provider=provider, skill_slug=form.validated_data["skill"]
        )
        return Response(attempt_payload(attempt, with_questions=True), status=201)


class AssessmentDetailView(APIView):
    @extend_schema(responses={200: AttemptSerializer})
    def get(self, request: Request, attempt_id: int) -> Response:
        attempt = assessments.assessment_for_provider(
            provider=_provider(request), attempt_id=attempt_id
        )
        return Response(attempt_payload(attempt, with_questions=True))


class AssessmentSubmitView(APIView):
    @extend_schema(request=SubmitInput, responses={200: AttemptSerializer})
    def post(self, request: Request, attempt_id: int) -> Response:
        provider = _provider(request)
        assessments.require_provider(provider)
        form = SubmitInput(data=request.data)
        form.is_valid(raise_exception=True)
        attempt = assessments.assessment_submit(
            attempt_id=attempt_id, provider=provider, answers=form.validated_data["answers"]
        )
        return Response(attempt_payload(attempt, with_questions=True))
