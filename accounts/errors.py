"""The one error family of Chatbox, at the bottom layer so that every app can raise it.

``ApplicationError(code, message, extra)``: the API turns it into the error shape of
PROTOCOL.md §2 (``chatbox.errors.api_exception_handler``), the websocket consumer into an
``error`` frame. Each app keeps its codes in its own ``errors`` module and registers their HTTP
statuses there with ``http_status_register``; a code must be imported to be raised, so its
status is known before it is needed. This module holds the identity layer's codes. Middleware,
which runs outside DRF, builds the same shape with ``error_response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import JsonResponse

_HTTP_STATUS: dict[str, int] = {}


def http_status_register(statuses: Mapping[str, int]) -> None:
    """Register the HTTP status of an app's error codes. A code has one status everywhere:
    registering it again with another is a defect, refused at import."""
    for code, status in statuses.items():
        if _HTTP_STATUS.setdefault(code, status) != status:
            raise ValueError(f"error code {code!r} has status {_HTTP_STATUS[code]}, not {status}")


def http_status(code: str) -> int:
    """The HTTP status of an error code: its registered one, else 400."""
    return _HTTP_STATUS.get(code, 400)


class AccountErrorCode:
    INVALID = "invalid"
    CODE_INVALID = "code_invalid"
    CODE_EXPIRED = "code_expired"
    NO_PHONE = "no_phone"
    MFA_REQUIRED = "mfa_required"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    EMAIL_UNVERIFIED = "email_unverified"
    RATE_LIMITED = "rate_limited"
    MFA_CODE_REQUIRED = "mfa_code_required"
    MFA_CODE_INVALID = "mfa_code_invalid"
    EMAIL_KEY_INVALID = "email_key_invalid"
    EMAIL_ALREADY_VERIFIED = "email_already_verified"
    EMAIL_NOT_PENDING = "email_not_pending"
    MFA_ALREADY_ENABLED = "mfa_already_enabled"
    MFA_NOT_ENABLED = "mfa_not_enabled"
    PASSWORD_INVALID = "password_invalid"  # noqa: S105 - an error code, not a secret
    SUSPENDED = "suspended"
    BANNED = "banned"


http_status_register(
    {
        AccountErrorCode.INVALID: 400,
        AccountErrorCode.CODE_INVALID: 400,
        AccountErrorCode.CODE_EXPIRED: 400,
        AccountErrorCode.NO_PHONE: 400,
        AccountErrorCode.MFA_REQUIRED: 403,
        AccountErrorCode.TERMS_NOT_ACCEPTED: 403,
        AccountErrorCode.EMAIL_UNVERIFIED: 403,
        AccountErrorCode.RATE_LIMITED: 429,
        AccountErrorCode.MFA_CODE_REQUIRED: 401,
        # 401 when signing in; setting MFA up or down answers 400 (``ApplicationError.status``).
        AccountErrorCode.MFA_CODE_INVALID: 401,
        AccountErrorCode.EMAIL_KEY_INVALID: 400,
        AccountErrorCode.EMAIL_ALREADY_VERIFIED: 400,
        AccountErrorCode.EMAIL_NOT_PENDING: 400,
        AccountErrorCode.MFA_ALREADY_ENABLED: 400,
        AccountErrorCode.MFA_NOT_ENABLED: 400,
        AccountErrorCode.PASSWORD_INVALID: 400,
        AccountErrorCode.SUSPENDED: 403,
        AccountErrorCode.BANNED: 403,
    }
)


class ApplicationError(Exception):
    """``status`` overrides the code's usual HTTP status where one code means two things
    (``mfa_code_invalid``: 401 at sign-in, 400 when setting MFA up or down)."""

    def __init__(
        self,
        code: str,
        message: str,
        extra: dict[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.status = status


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=http_status(code))
