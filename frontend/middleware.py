"""Middleware of the web app that needs the layers above ``accounts``."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.errors import AccountErrorCode, error_response
from accounts.models import User
from reports.actions import account_actions_of
from reports.models import AccountAction, Appeal

BAN_APPEAL_SALT = "frontend.ban-appeal"
BAN_APPEAL_MAX_AGE = 24 * 60 * 60  # the banned page's appeal form works for a day


class BannedMiddleware:
    """A session that outlived a ban ends on its next request: signed out, then told why.

    Pages get the "This account is banned" page (status 403) with the reason of the latest ban
    and, once, a form to appeal it: the member cannot sign in any more, so the form carries a
    signed token naming the ban (``ban_appeal``). The API gets 403 ``banned`` in the error
    shape. The ban itself closed the member's sockets, and the chat refuses a banned account on
    connect and on every frame.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated or not user.is_banned:
            return self.get_response(request)
        ban = latest_ban(user)
        logout(request)
        reason = ban.reason if ban else ""
        if request.path.startswith("/api/"):
            message = f"This account is banned: {reason}" if reason else "This account is banned."
            return error_response(AccountErrorCode.BANNED, message)
        return banned_page(request, ban)


def latest_ban(user: User) -> AccountAction | None:
    """The latest ban that stands; ``None`` for a ban set without an action (the admin)."""
    return (
        account_actions_of(user=user)
        .filter(kind=AccountAction.Kind.BAN, lifted_at__isnull=True)
        .order_by("-at", "-pk")
        .first()
    )


def banned_page(request: HttpRequest, ban: AccountAction | None, **context: object) -> HttpResponse:
    appealed = ban is not None and Appeal.objects.filter(action=ban).exists()
    token = signing.dumps(ban.pk, salt=BAN_APPEAL_SALT) if ban and not appealed else ""
    return render(
        request,
        "frontend/standing/banned.html",
        {"reason": ban.reason if ban else "", "appeal_token": token, **context},
        status=403,
    )
