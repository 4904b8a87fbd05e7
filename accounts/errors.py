"""The one error family of Chatbox, at the bottom layer so that every app can raise it.

``ApplicationError(code, message, extra)``: the API turns it into the error shape of
PROTOCOL.md §2 (``chatbox.errors.api_exception_handler``), the websocket consumer into an
``error`` frame. Each app keeps its codes; this module holds the identity layer's. Middleware,
which runs outside DRF, builds the same shape with ``error_response``.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


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


HTTP_STATUS = {
    AccountErrorCode.INVALID: 400,
    AccountErrorCode.CODE_INVALID: 400,
    AccountErrorCode.CODE_EXPIRED: 400,
    AccountErrorCode.NO_PHONE: 400,
    AccountErrorCode.MFA_REQUIRED: 403,
    AccountErrorCode.TERMS_NOT_ACCEPTED: 403,
    AccountErrorCode.EMAIL_UNVERIFIED: 403,
    AccountErrorCode.RATE_LIMITED: 429,
    AccountErrorCode.MFA_CODE_REQUIRED: 401,
    AccountErrorCode.MFA_CODE_INVALID: 401,
}


class ApplicationError(Exception):
    def __init__(self, code: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=HTTP_STATUS.get(code, 400))
