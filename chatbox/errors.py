"""The chat's error codes, and the HTTP shape of every ApplicationError (PROTOCOL.md §2).

Services raise ``ApplicationError(code, message, extra)``; the API turns it into
``{"error": {"code", "message", "fields"}}`` with a fitting 4xx status, and the websocket
consumer into an ``error`` frame.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from accounts.errors import ApplicationError, error_body, http_status, http_status_register

__all__ = ["ApplicationError", "ErrorCode", "api_exception_handler", "error_body"]


class ErrorCode:
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    NOT_MEMBER = "not_member"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    SUSPENDED = "suspended"
    BANNED = "banned"
    CLOSED = "closed"
    GONE = "gone"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    INVALID_CREDENTIALS = "invalid_credentials"
    NOT_AUTHENTICATED = "not_authenticated"


http_status_register(
    {
        ErrorCode.INVALID_FRAME: status.HTTP_400_BAD_REQUEST,
        ErrorCode.INVALID: status.HTTP_400_BAD_REQUEST,
        ErrorCode.INVALID_CREDENTIALS: status.HTTP_400_BAD_REQUEST,
        ErrorCode.NOT_AUTHENTICATED: status.HTTP_401_UNAUTHORIZED,
        ErrorCode.FORBIDDEN: status.HTTP_403_FORBIDDEN,
        ErrorCode.SUSPENDED: status.HTTP_403_FORBIDDEN,
        ErrorCode.BANNED: status.HTTP_403_FORBIDDEN,
        # Non-members learn nothing: a foreign conversation looks like a missing one over HTTP.
        ErrorCode.NOT_MEMBER: status.HTTP_404_NOT_FOUND,
        ErrorCode.NOT_FOUND: status.HTTP_404_NOT_FOUND,
        ErrorCode.CLOSED: status.HTTP_409_CONFLICT,
        ErrorCode.GONE: status.HTTP_410_GONE,
        ErrorCode.TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        ErrorCode.RATE_LIMITED: status.HTTP_429_TOO_MANY_REQUESTS,
    }
)


def _flatten(detail: Any) -> Any:
    """DRF's ErrorDetail lists as plain strings, keyed by field."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError) and exc.code == ErrorCode.NOT_MEMBER:
        # The status alone is not enough: a distinct code would tell that the id exists.
        exc = ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.")
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.extra),
            status=exc.status or http_status(exc.code),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling takes over
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = error_body(ErrorCode.INVALID, "The request is not valid.", fields)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        response.data = error_body(code if isinstance(code, str) else "error", str(exc.detail))
    return response


def not_found_view(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for unknown URLs: the error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(ErrorCode.NOT_FOUND, "No such endpoint."), status=404)
    return page_not_found(request, exception)
