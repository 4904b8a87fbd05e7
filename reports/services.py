"""Account actions, enforced at once on every open socket (PROTOCOL.md §6)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import User
from accounts.services import user_ban, user_suspend
from chatbox import realtime


@transaction.atomic
def account_ban(*, user: User) -> User:
    user = user_ban(user=user)
    realtime.close_user_sockets(user_id=user.pk, code=realtime.CLOSE_BANNED)
    return user


@transaction.atomic
def account_suspend(*, user: User, until: datetime | None) -> User:
    # Sockets stay open: a suspended user still reads; each write re-reads the standing.
    return user_suspend(user=user, until=until)
