"""Page views of the web app: thin, they read through the chatbox selectors and render."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.utils import perform_login
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import email_verification_pending, mfa_totp_enabled
from accounts.services import user_authenticate
from chatbox.errors import ApplicationError
from chatbox.realtime import close_user_sockets
from chatbox.selectors import (
    ConversationSummary,
    conversation_for_member,
    conversation_summaries_for_user,
    conversation_summary,
    online_user_ids,
)
from frontend.forms import SignInForm
from projects.contracts import EngagementLinks, engagement_links

WRONG_CREDENTIALS = "Incorrect username or password."
BANNED = "This account has been banned and can no longer sign in."
EMAIL_UNVERIFIED = "Verify your e-mail address first: follow the link we sent you."


@dataclass(frozen=True)
class InboxEntry:
    id: uuid.UUID
    title: str
    others: str
    unread: int
    last_activity: datetime | None
    head_seq: int
    # Where the conversation belongs on the marketplace, when it belongs to an engagement.
    project_id: int | None = None
    contract_id: int | None = None


def _viewer(request: HttpRequest) -> User:
    return cast(User, request.user)


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _inbox_entry(summary: ConversationSummary, viewer: User, links: EngagementLinks) -> InboxEntry:
    others = [p.name for p in summary.participants if p.id != viewer.pk]
    return InboxEntry(
        id=summary.id,
        title=summary.title,
        others=_names(others),
        unread=summary.unread,
        last_activity=summary.last_activity,
        head_seq=summary.head_seq,
        project_id=links.project_id,
        contract_id=links.contract_id,
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _sign_in_page(request: HttpRequest, form: SignInForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "next": _safe_next(request)}
    return render(request, "frontend/sign_in.html", context, status=status)


def _end_session(request: HttpRequest) -> None:
    user_id = request.user.pk
    logout(request)
    # After logout, so that a socket reconnecting in between finds no session to reuse.
    if user_id is not None:
        close_user_sockets(user_id=user_id)


def _sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form, status=400)
    try:
        user = user_authenticate(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
    except ApplicationError as error:  # throttled
        form.add_error(None, error.message)
        return _sign_in_page(request, form, status=429)
    if user is None:
        form.add_error(None, WRONG_CREDENTIALS)
        return _sign_in_page(request, form, status=400)
    if cast(User, user).is_banned:
        form.add_error(None, BANNED)
        return _sign_in_page(request, form, status=403)
    if email_verification_pending(user=user):
        form.add_error(None, EMAIL_UNVERIFIED)
        return _sign_in_page(request, form, status=403)
    if mfa_totp_enabled(user=user):
        # allauth's login flow asks for the second factor, then signs in and goes on.
        return perform_login(
            request,
            user,
            email_verification=EmailVerificationMethod.NONE,
            redirect_url=_safe_next(request),
        )
    login(request, user)
    return redirect(_safe_next(request))


def _inbox(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    summaries = conversation_summaries_for_user(user=viewer)
    links = engagement_links(viewer=viewer, conversation_ids=[s.id for s in summaries])
    entries = [
        _inbox_entry(summary, viewer, links.get(summary.id, EngagementLinks()))
        for summary in summaries
    ]
    return render(request, "frontend/inbox.html", {"entries": entries})


def _banned_session(request: HttpRequest) -> HttpResponse:
    """A session that outlived a ban: end it and say why."""
    _end_session(request)
    form = SignInForm()
    form.cleaned_data = {}  # add_error needs it; an unbound form has none
    form.add_error(None, BANNED)
    return _sign_in_page(request, form, status=403)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The sign-in form for a visitor, the inbox for a signed-in user."""
    if request.method == "POST":
        return _sign_in(request)
    if not request.user.is_authenticated:
        return _sign_in_page(request, SignInForm())
    if _viewer(request).is_banned:
        return _banned_session(request)
    return _inbox(request)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    _end_session(request)
    return redirect("frontend:home")


@never_cache
@require_GET
@login_required
def conversation(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    viewer = _viewer(request)
    if viewer.is_banned:
        return _banned_session(request)
    try:
        chat = conversation_for_member(user=viewer, conversation_id=conversation_id)
        summary = conversation_summary(user=viewer, conversation=chat)
    except ApplicationError as error:
        # Non-members learn nothing: a foreign conversation looks like a missing one.
        raise Http404(error.message) from error
    online = online_user_ids(conversation_id=summary.id)
    participants = [
        {
            "id": p.id,
            "name": p.name,
            "role": p.role,
            "last_read_seq": p.last_read_seq,
            "online": p.id in online,
            "is_viewer": p.id == viewer.pk,
        }
        for p in summary.participants
    ]
    state: dict[str, Any] = {
        "conversation": {"id": str(summary.id), "title": summary.title, "head": summary.head_seq},
        "viewer": {"id": viewer.pk, "name": viewer.name},
        "participants": participants,
        "max_body_chars": settings.CHATBOX_MAX_BODY_CHARS,
    }
    context = {
        "summary": summary,
        "participants": participants,
        "state": state,
        "max_body_chars": settings.CHATBOX_MAX_BODY_CHARS,
    }
    return render(request, "frontend/conversation.html", context)
