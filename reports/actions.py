"""Account actions by support staff — warning, suspension until a date, permanent ban — and
the one appeal each allows (PROTOCOL.md §6).

Each action is recorded with its reason, who took it and when, and enforced at once:
- a warning is shown to the member and changes nothing else;
- a suspension lets the member read but not send, bid, invoice or post
  (``accounts.services.standing_require`` on every such write; the chat re-reads the standing
  on each frame);
- a ban closes the member's open sockets (4403) and signs out their sessions on their next
  request (``frontend.middleware.BannedMiddleware``); their listings and offers are hidden.
The member sees their actions and reasons on their account page and may appeal each once;
support upholds or overturns the appeal, and overturning lifts the action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from accounts.services import user_reinstate
from chatbox.errors import ApplicationError, ErrorCode
from projects.listings import invalid_field, text_check
from reports.errors import ReportsErrorCode
from reports.models import AccountAction, Appeal, Case
from reports.selectors import staff_required
from reports.services import account_ban, account_suspend

REASON_MAX = 2_000
ACTION_NOT_FOUND = "No such account action."


def _until_parsed(until: Any, kind: str) -> datetime | None:
    if kind != AccountAction.Kind.SUSPENSION:
        if until not in (None, ""):
            raise invalid_field("until", "Only a suspension has an end.")
        return None
    moment = parse_datetime(until) if isinstance(until, str) else None
    if moment is None:
        raise invalid_field("until", "Give the suspension's end as an ISO 8601 date and time.")
    if timezone.is_naive(moment):
        raise invalid_field("until", "Give the time zone (e.g. 2026-12-01T00:00:00Z).")
    if moment <= timezone.now():
        raise invalid_field("until", "The end of a suspension is in the future.")
    return moment


@transaction.atomic
def account_action_take(
    *,
    staff: User,
    user_id: int,
    action: Any,
    reason: Any,
    until: Any = None,
    case_id: int | None = None,
) -> AccountAction:
    """Warn, suspend or ban a member, with a reason; enforced at once everywhere."""
    staff_required(user=staff)
    if action not in AccountAction.Kind.values:
        raise invalid_field("action", "Choose one of: warning, suspension, ban.")
    reason = text_check(
        reason if isinstance(reason, str) else "",
        field="reason",
        max_length=REASON_MAX,
        missing="Say why: the member is shown the reason.",
    )
    moment = _until_parsed(until, action)
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such member.")
    if user.pk == staff.pk or user.is_staff_member:
        raise ApplicationError(
            ErrorCode.FORBIDDEN, "Account actions are for members, not support staff."
        )
    case = Case.objects.filter(pk=case_id).first() if case_id is not None else None
    if case_id is not None and case is None:
        raise invalid_field("case", "No such case.")
    if action == AccountAction.Kind.SUSPENSION:
        account_suspend(user=user, until=moment)
    elif action == AccountAction.Kind.BAN:
        account_ban(user=user)
    return AccountAction.objects.create(
        user=user, kind=action, until=moment, reason=reason, by=staff, case=case
    )


def account_actions_of(*, user: User) -> QuerySet[AccountAction]:
    """What a member is shown of the actions on their account: kind, reason, end, appeal."""
    return AccountAction.objects.filter(user=user).select_related("appeal")


def account_actions_for_staff(*, staff: User, user_id: int) -> QuerySet[AccountAction]:
    staff_required(user=staff)
    return AccountAction.objects.filter(user_id=user_id).select_related("appeal", "by")


@transaction.atomic
def appeal_submit(*, user: User, action_id: int, text: Any) -> Appeal:
    """The member's one appeal against an action on their account."""
    action = AccountAction.objects.filter(pk=action_id, user=user).first()
    if action is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, ACTION_NOT_FOUND)
    text = text_check(
        text if isinstance(text, str) else "",
        field="text",
        max_length=REASON_MAX,
        missing="Say why the action should be lifted.",
    )
    try:
        with transaction.atomic():
            return Appeal.objects.create(action=action, text=text)
    except IntegrityError as exc:
        raise ApplicationError(
            ReportsErrorCode.APPEAL_MADE, "You appealed this action already: one appeal each."
        ) from exc


def appeals_pending(*, staff: User) -> QuerySet[Appeal]:
    staff_required(user=staff)
    return Appeal.objects.filter(state=Appeal.State.PENDING).select_related(
        "action", "action__user"
    )


@transaction.atomic
def appeal_decide(*, staff: User, appeal_id: int, overturn: bool, answer: Any) -> Appeal:
    """Uphold or overturn an appeal. Overturning lifts the action: a suspension or ban ends and
    the member is reinstated (unless another action still stands)."""
    staff_required(user=staff)
    answer = text_check(
        answer if isinstance(answer, str) else "",
        field="answer",
        max_length=REASON_MAX,
        missing="Answer the member.",
    )
    appeal = (
        Appeal.objects.select_for_update().select_related("action").filter(pk=appeal_id).first()
    )
    if appeal is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such appeal.")
    state = Appeal.State.OVERTURNED if overturn else Appeal.State.UPHELD
    now = timezone.now()
    decided = Appeal.objects.filter(pk=appeal.pk, state=Appeal.State.PENDING).update(
        state=state, decided_by=staff, decided_at=now, answer=answer
    )
    if decided != 1:
        raise ApplicationError(ReportsErrorCode.ALREADY_DECIDED, "This appeal is decided already.")
    if overturn:
        AccountAction.objects.filter(pk=appeal.action_id).update(lifted_at=now)
        _standing_recompute(user_id=appeal.action.user_id, now=now)
    appeal.refresh_from_db()
    # A banned member cannot sign in to read the answer: every member also gets it by e-mail.
    member = appeal.action.user
    if member.email:
        verdict = "lifted" if overturn else "upheld"
        transaction.on_commit(
            lambda: send_mail(
                subject=f"Your appeal: the {appeal.action.get_kind_display().lower()} is {verdict}",
                message=f"Support answered your appeal:\n\n{answer}",
                from_email=None,
                recipient_list=[member.email],
            )
        )
    return appeal


def _standing_recompute(*, user_id: int, now: datetime) -> None:
    """After an action is lifted: the member's standing from the actions that still stand."""
    user = User.objects.select_for_update().get(pk=user_id)
    standing = AccountAction.objects.filter(user=user, lifted_at__isnull=True)
    if standing.filter(kind=AccountAction.Kind.BAN).exists():
        return
    suspension = (
        standing.filter(kind=AccountAction.Kind.SUSPENSION, until__gt=now)
        .order_by("-until")
        .first()
    )
    if suspension is not None:
        account_suspend(user=user, until=suspension.until)
    else:
        user_reinstate(user=user)
