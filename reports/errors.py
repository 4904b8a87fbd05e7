"""Error codes of support staff's casework (raised as ``ApplicationError``; PROTOCOL.md §2)."""

from __future__ import annotations

from accounts.errors import http_status_register


class ReportsErrorCode:
    FILE_TYPE_UNSUPPORTED = "file_type_unsupported"
    FILE_TOO_LARGE = "file_too_large"
    FILE_MISSING = "file_missing"
    DOCUMENT_PENDING = "document_pending"
    ALREADY_VERIFIED = "already_verified"
    ALREADY_DECIDED = "already_decided"
    VETTING_PENDING = "vetting_pending"
    ALREADY_VETTED = "already_vetted"
    PROFILE_MISSING = "profile_missing"
    ALREADY_REPORTED = "already_reported"
    APPEAL_MADE = "appeal_made"


http_status_register(
    {
        ReportsErrorCode.FILE_TYPE_UNSUPPORTED: 415,
        ReportsErrorCode.FILE_TOO_LARGE: 413,
        ReportsErrorCode.FILE_MISSING: 400,
        ReportsErrorCode.PROFILE_MISSING: 400,
        # The request is well-formed but the case is not in a state that allows it.
        ReportsErrorCode.DOCUMENT_PENDING: 409,
        ReportsErrorCode.ALREADY_VERIFIED: 409,
        ReportsErrorCode.ALREADY_DECIDED: 409,
        ReportsErrorCode.VETTING_PENDING: 409,
        ReportsErrorCode.ALREADY_VETTED: 409,
        ReportsErrorCode.ALREADY_REPORTED: 409,
        ReportsErrorCode.APPEAL_MADE: 409,
    }
)
