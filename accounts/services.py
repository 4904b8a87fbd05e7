"""Writes on people: account standing."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_suspend(*, user: User, until: datetime | None) -> User:
    """Suspend ``user``: they can still read their conversations but not write in them."""
    user.standing = User.Standing.SUSPENDED
    user.suspended_until = until
    user.save(update_fields=["standing", "suspended_until"])
    return user


@transaction.atomic
def user_ban(*, user: User) -> User:
    user.standing = User.Standing.BANNED
    user.suspended_until = None
    user.save(update_fields=["standing", "suspended_until"])
    return user


@transaction.atomic
def user_reinstate(*, user: User) -> User:
    user.standing = User.Standing.ACTIVE
    user.suspended_until = None
    user.save(update_fields=["standing", "suspended_until"])
    return user
