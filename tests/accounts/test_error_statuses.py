"""Each app registers the HTTP status of its error codes; a code has one status everywhere."""

from __future__ import annotations

import pytest

from accounts.errors import http_status, http_status_register
from projects.errors import AssessmentErrorCode
from reports.errors import ReportsErrorCode


def test_conflicts_answer_409_and_unknown_codes_400() -> None:
    assert http_status(ReportsErrorCode.DOCUMENT_PENDING) == 409
    assert http_status(AssessmentErrorCode.IN_PROGRESS) == 409
    assert http_status(AssessmentErrorCode.COOLDOWN) == 429
    assert http_status("no_such_code_anywhere") == 400


def test_a_code_registered_again_with_another_status_is_refused() -> None:
    with pytest.raises(ValueError, match="document_pending"):
        http_status_register({ReportsErrorCode.DOCUMENT_PENDING: 400})
    assert http_status(ReportsErrorCode.DOCUMENT_PENDING) == 409


def test_a_code_registered_again_with_its_own_status_is_accepted() -> None:
    http_status_register({ReportsErrorCode.DOCUMENT_PENDING: 409})
    assert http_status(ReportsErrorCode.DOCUMENT_PENDING) == 409
