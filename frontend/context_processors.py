"""What every page's frame needs of trust and safety: the member's standing banner, and the
reasons the "Report" dialog offers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from reports.actions import account_actions_of
from reports.models import AccountAction, Reason

# A warning stays on every page this long; afterwards the account standing page still lists it.
WARNING_SHOWN_DAYS = 30


def _still_relevant(action: AccountAction, now: datetime) -> bool:
    """An action the member should be reminded of on every page: not lifted on appeal, and a
    recent warning, a suspension that has not ended, or a ban."""
    if action.lifted_at is not None:
        return False
    if action.kind == AccountAction.Kind.WARNING:
        return action.at >= now - timedelta(days=WARNING_SHOWN_DAYS)
    if action.kind == AccountAction.Kind.SUSPENSION:
        return action.until is not None and action.until > now
    return action.kind == AccountAction.Kind.BAN


def trust_and_safety(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated or user.is_staff_member:
        return {"standing_notices": [], "report_reasons": []}
    now = timezone.now()
    notices = [a for a in account_actions_of(user=user) if _still_relevant(a, now)]
    return {"standing_notices": notices, "report_reasons": Reason.choices}
