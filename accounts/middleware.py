"""Gates on signed-in users: MFA before staff pages, the current Terms before anything else."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.errors import AccountErrorCode, error_response
from accounts.models import User
from accounts.selectors import mfa_totp_enabled, terms_current_accepted

STAFF_PAGE_PREFIXES = ("/staff/", "/admin/")
STAFF_API_PREFIX = "/api/staff/"

# Reachable without having accepted the current Terms: the policies themselves, signing out,
# static files, and the few API calls a client needs to learn and record the acceptance.
TERMS_EXEMPT_PREFIXES = (
    "/static/",
    "/ws/",
    "/terms/",
    "/privacy/",
    "/guidelines/",
    "/safety/",
    "/logout/",
    "/account/logout/",
)
TERMS_EXEMPT_API = {
    "/api/auth/login/",
    "/api/auth/logout/",
    "/api/auth/signup/",
    "/api/account/",
    "/api/account/terms/",
    "/api/account/email/verify/",
    "/api/schema/",
}
TERMS_SESSION_KEY = "accounts.terms_accepted"


def _signed_in(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        return user
    return None


class StaffMFAMiddleware:
    """Support staff must have a TOTP authenticator before any staff page or staff API.

    Staff pages send them to the MFA setup page; the staff API answers 403 ``mfa_required``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        is_page = path.startswith(STAFF_PAGE_PREFIXES)
        is_api = path.startswith(STAFF_API_PREFIX)
        user = _signed_in(request) if is_page or is_api else None
        if user is not None and user.is_staff_member and not mfa_totp_enabled(user=user):
            if is_api:
                return error_response(
                    AccountErrorCode.MFA_REQUIRED,
                    "Set up two-factor authentication (TOTP) before using staff tools.",
                )
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': path})}")
        return self.get_response(request)


class TermsMiddleware:
    """A signed-in user who has not accepted the current Terms version is asked to, first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _signed_in(request)
        if user is None or self._exempt(request.path):
            return self.get_response(request)
        marker = f"{user.pk}:{settings.TERMS_VERSION}"
        if request.session.get(TERMS_SESSION_KEY) == marker:
            return self.get_response(request)
        if terms_current_accepted(user=user):
            request.session[TERMS_SESSION_KEY] = marker
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return error_response(
                AccountErrorCode.TERMS_NOT_ACCEPTED,
                f"Accept the Terms of Service (version {settings.TERMS_VERSION}) to continue.",
                {"version": settings.TERMS_VERSION},
            )
        return redirect(f"{reverse('identity:terms-accept')}?{urlencode({'next': request.path})}")

    @staticmethod
    def _exempt(path: str) -> bool:
        return path in TERMS_EXEMPT_API or path.startswith(TERMS_EXEMPT_PREFIXES)
