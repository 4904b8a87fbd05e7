"""Error codes of the marketplace (raised as ``ApplicationError``; PROTOCOL.md §2)."""

from __future__ import annotations

from accounts.errors import http_status_register


class AssessmentErrorCode:
    EXPIRED = "assessment_expired"
    COOLDOWN = "assessment_cooldown"
    IN_PROGRESS = "assessment_in_progress"
    ALREADY_PASSED = "assessment_already_passed"
    CLOSED = "assessment_closed"


http_status_register(
    {
        # The attempt is not in a state that allows the request.
        AssessmentErrorCode.EXPIRED: 409,
        AssessmentErrorCode.IN_PROGRESS: 409,
        AssessmentErrorCode.ALREADY_PASSED: 409,
        AssessmentErrorCode.CLOSED: 409,
        # Another attempt may start later: ``extra["retry_at"]`` says when.
        AssessmentErrorCode.COOLDOWN: 429,
    }
)
