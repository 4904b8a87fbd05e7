"""Writes on people: account standing, terms acceptance, phone verification."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import phonenumbers
from allauth.account.adapter import get_adapter
from allauth.mfa.base.forms import AuthenticateForm
from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import sms
from accounts.errors import AccountErrorCode, ApplicationError
from accounts.models import PhoneVerification, TermsAcceptance, User

PHONE_CODE_TTL = timedelta(minutes=10)
PHONE_CODE_MAX_ATTEMPTS = 5


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


def user_authenticate(*, request: HttpRequest, username: str, password: str) -> User | None:
    """Check a password through allauth, which counts failures and throttles them
    (ACCOUNT_RATE_LIMITS["login_failed"]): past the limit, ``rate_limited`` even for a
    correct password. Used by the sign-in form at ``/`` and ``POST /api/auth/login/``.
    """
    try:
        user = get_adapter(request).authenticate(request, username=username, password=password)
    except forms.ValidationError as error:
        raise ApplicationError(
            AccountErrorCode.RATE_LIMITED,
            "Too many failed sign-in attempts. Try again in a few minutes.",
        ) from error
    return user if isinstance(user, User) else None


def user_mfa_check(*, user: User, code: str | None) -> None:
    """For a user with TOTP: the code (TOTP or a recovery code) must be given and right."""
    if not code:
        raise ApplicationError(
            AccountErrorCode.MFA_CODE_REQUIRED,
            "This account uses two-factor authentication: send the code too.",
            {"code": ["Enter the code from your authenticator app or a recovery code."]},
        )
    form = AuthenticateForm(user=user, data={"code": code})
    if not form.is_valid():
        raise ApplicationError(
            AccountErrorCode.MFA_CODE_INVALID,
            "The two-factor code is not correct.",
            {"code": [str(message) for message in form.errors.get("code", [])]},
        )


def terms_accept(*, user: User, version: str | None = None) -> TermsAcceptance:
    """Record that ``user`` accepted the Terms ``version`` (the current one by default).

    Accepting a version twice keeps the first acceptance.
    """
    version = version or settings.TERMS_VERSION
    try:
        with transaction.atomic():
            return TermsAcceptance.objects.create(user=user, version=version)
    except IntegrityError:
        return TermsAcceptance.objects.get(user=user, version=version)


def phone_normalise(raw: str) -> str:
    """``raw`` as E.164 (``+4930123456``); international format (with ``+``) is required."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as error:
        raise ApplicationError(
            AccountErrorCode.INVALID,
            "The phone number is not valid.",
            {"phone": ["Enter the number in international format, e.g. +44 20 7946 0958."]},
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ApplicationError(
            AccountErrorCode.INVALID,
            "The phone number is not valid.",
            {"phone": ["This is not a valid phone number."]},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _code_hash(*, user_id: int, code: str) -> str:
    # Keyed by the secret key and bound to the user: a leaked table reveals no codes, and a
    # million-code brute force needs the key.
    message = f"{user_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@transaction.atomic
def phone_code_send(*, user: User, phone: str) -> PhoneVerification:
    """Send a fresh 6-digit code to ``phone`` for ``user``; it replaces any earlier code.

    The number becomes the user's only once the code is confirmed.
    """
    number = phone_normalise(phone)
    code = f"{secrets.randbelow(1_000_000):06d}"
    verification, _ = PhoneVerification.objects.update_or_create(
        user=user,
        defaults={
            "phone_number": number,
            "code_hash": _code_hash(user_id=user.pk, code=code),
            "created_at": timezone.now(),
            "attempts": 0,
            "used_at": None,
        },
    )
    text = f"Your Chatbox code is {code}. It expires in 10 minutes."
    transaction.on_commit(lambda: sms.send_sms(to=number, text=text))
    return verification


def phone_code_verify(*, user: User, code: str) -> User:
    """Confirm the pending code: the phone becomes the user's and is marked verified.

    A wrong, used or expired code changes nothing but the attempt count.
    """
    with transaction.atomic():
        verification = PhoneVerification.objects.select_for_update().filter(user=user).first()
        if verification is None or verification.used_at is not None:
            raise ApplicationError(
                AccountErrorCode.CODE_INVALID, "There is no code to confirm: ask for a new one."
            )
        if verification.attempts >= PHONE_CODE_MAX_ATTEMPTS:
            raise ApplicationError(
                AccountErrorCode.CODE_INVALID, "Too many wrong codes: ask for a new one."
            )
        if timezone.now() - verification.created_at > PHONE_CODE_TTL:
            raise ApplicationError(
                AccountErrorCode.CODE_EXPIRED, "The code has expired: ask for a new one."
            )
        expected = _code_hash(user_id=user.pk, code=code.strip())
        if not hmac.compare_digest(expected, verification.code_hash):
            # Counted outside the refusal, which would roll it back.
            PhoneVerification.objects.filter(pk=verification.pk).update(
                attempts=verification.attempts + 1
            )
            wrong = True
        else:
            wrong = False
            now = timezone.now()
            verification.used_at = now
            verification.save(update_fields=["used_at"])
            user.phone_number = verification.phone_number
            user.phone_verified_at = now
            user.save(update_fields=["phone_number", "phone_verified_at"])
    if wrong:
        raise ApplicationError(AccountErrorCode.CODE_INVALID, "The code is not correct.")
    return user
