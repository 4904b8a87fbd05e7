"""Error codes of support staff's casework (raised as ``ApplicationError``; PROTOCOL.md §2).

Codes without an entry in ``chatbox.errors.HTTP_STATUS`` answer 400.
"""

from __future__ import annotations


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
