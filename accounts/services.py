"""Writes on people: account standing, terms acceptance, phone and e-mail verification, MFA."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import phonenumbers
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.email_verification import (
    send_verification_email_to_address,
)
from allauth.account.models import EmailAddress, get_emailconfirmation_model
from allauth.mfa import signals as mfa_signals
from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.base.internal.flows import delete_and_cleanup
from allauth.mfa.internal.flows.add import validate_can_add_authenticator
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.recovery_codes.internal.flows import auto_generate_recovery_codes
from allauth.mfa.totp.forms import ActivateTOTPForm
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    clear_totp_secret,
    generate_totp_secret,
)
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts import sms
from accounts.errors import AccountErrorCode, ApplicationError
from accounts.models import PhoneVerification, TermsAcceptance, User
from accounts.selectors import mfa_totp_enabled

PHONE_CODE_TTL = timedelta(minutes=10)
PHONE_CODE_MAX_ATTEMPTS = 5


def standing_refusal(*, user: User, doing: str) -> ApplicationError | None:
    """Why ``user`` (as read from the database just now) may not write, or None: a suspended
    member reads, but does not send, bid, invoice or post. ``doing`` names the write in the
    message ("send", "bid", …)."""
    if user.is_banned:
        return ApplicationError(AccountErrorCode.BANNED, "This account is banned.")
    if user.is_suspended:
        until = user.suspended_until
        ends = f" The suspension ends {until.isoformat()}." if until else ""
        return ApplicationError(
            AccountErrorCode.SUSPENDED,
            f"Your account is suspended: you can read but not {doing}.{ends}",
            {"until": until.isoformat() if until else None},
        )
    return None


def standing_require(*, user: User, doing: str) -> None:
    """Refuse a write by a suspended or banned member, reading the standing fresh (an action
    applies to the very next request or frame)."""
    current = User.objects.only("standing", "suspended_until").get(pk=user.pk)
    if refusal := standing_refusal(user=current, doing=doing):
        raise refusal


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


# --- E-mail verification over the API (allauth's confirmation keys and sending) ---------------


def email_verify(*, request: HttpRequest, key: str) -> EmailAddress:
    """Confirm the address behind ``key`` (the key in the e-mailed link), as allauth's page does.

    An unknown, used or expired key changes nothing: ``email_key_invalid``.
    """
    with transaction.atomic():
        confirmation = get_emailconfirmation_model().from_key(key.strip())
        address = confirmation.confirm(request) if confirmation is not None else None
    if address is None:
        raise ApplicationError(
            AccountErrorCode.EMAIL_KEY_INVALID,
            "This verification link is unknown, used or expired: ask for a new one.",
        )
    return address


def email_verification_resend(*, request: HttpRequest, user: User) -> EmailAddress:
    """Send the verification e-mail again through allauth, within its rate limit
    (``ACCOUNT_RATE_LIMITS["confirm_email"]``: one e-mail per address per cooldown).

    Accounts without an address row (see docs/identity.md) have nothing pending.
    """
    addresses = EmailAddress.objects.filter(user=user)
    if addresses.filter(verified=True).exists():
        raise ApplicationError(
            AccountErrorCode.EMAIL_ALREADY_VERIFIED, "The e-mail address is already verified."
        )
    address = addresses.order_by("-primary", "pk").first()
    if address is None:
        raise ApplicationError(
            AccountErrorCode.EMAIL_NOT_PENDING, "This account has no address awaiting verification."
        )
    if not send_verification_email_to_address(request, address):
        raise ApplicationError(
            AccountErrorCode.RATE_LIMITED,
            "A verification e-mail was sent a moment ago. Try again in a few minutes.",
        )
    return address


# --- TOTP over the API (allauth.mfa's secret, code check, activation and recovery codes) ------


def _mfa_can_add(*, user: User) -> None:
    if mfa_totp_enabled(user=user):
        raise ApplicationError(
            AccountErrorCode.MFA_ALREADY_ENABLED, "Two-factor authentication is already on."
        )
    try:
        validate_can_add_authenticator(user)
    except ValidationError as error:
        raise ApplicationError(
            AccountErrorCode.EMAIL_UNVERIFIED, " ".join(error.messages)
        ) from error


def mfa_totp_begin(*, request: HttpRequest, user: User) -> dict[str, str]:
    """A fresh TOTP secret, kept in the session until activated (as allauth's page does)."""
    _mfa_can_add(user=user)
    secret = generate_totp_secret()
    request.session[SECRET_SESSION_KEY] = secret
    return {"secret": secret, "otpauth_url": get_mfa_adapter().build_totp_url(user, secret)}


def _code_refused(form: AuthenticateForm | ActivateTOTPForm) -> ApplicationError:
    if form.has_error("code", "rate_limited") or form.has_error("code", "too_many_login_attempts"):
        return ApplicationError(
            AccountErrorCode.RATE_LIMITED, "Too many wrong codes. Try again in a few minutes."
        )
    return ApplicationError(
        AccountErrorCode.MFA_CODE_INVALID,
        "The two-factor code is not correct.",
        {"code": [str(message) for message in form.errors.get("code", [])]},
        status=400,
    )


def _require_password(*, user: User, password: str) -> None:
    """The account's password, asked again before a change to its second factor: a stolen
    session alone must not be able to lock the owner out (allauth's pages reauthenticate)."""
    if not user.check_password(password):
        raise ApplicationError(
            AccountErrorCode.PASSWORD_INVALID,
            "The password is not correct.",
            {"password": ["not correct"]},
        )


def mfa_totp_activate(*, request: HttpRequest, user: User, code: str, password: str) -> list[str]:
    """Turn TOTP on with the pending secret if ``password`` is the account's and ``code`` is
    right for the secret; returns the recovery codes (generated with it, as allauth's page
    does). A wrong password or code activates nothing.
    """
    _require_password(user=user, password=password)
    _mfa_can_add(user=user)
    if not request.session.get(SECRET_SESSION_KEY):
        raise ApplicationError(
            AccountErrorCode.MFA_CODE_INVALID,
            "No TOTP setup is pending: POST /api/account/mfa/totp/ first.",
            status=400,
        )
    form = ActivateTOTPForm(user=user, data={"code": code})
    if not form.is_valid():
        raise _code_refused(form)
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if mfa_totp_enabled(user=user):
            raise ApplicationError(
                AccountErrorCode.MFA_ALREADY_ENABLED, "Two-factor authentication is already on."
            )
        totp = TOTP.activate(user, form.secret).instance
        recovery = auto_generate_recovery_codes(request) or Authenticator.objects.get(
            user=user, type=Authenticator.Type.RECOVERY_CODES
        )

        def notify() -> None:
            mfa_signals.authenticator_added.send(
                sender=Authenticator, request=request, user=user, authenticator=totp
            )
            get_adapter(request).send_notification_mail("mfa/email/totp_activated", user)

        transaction.on_commit(notify)
    clear_totp_secret(request)
    return RecoveryCodes(recovery).get_unused_codes()


def mfa_totp_deactivate(*, request: HttpRequest, user: User, code: str, password: str) -> None:
    """Turn TOTP off (and drop the recovery codes) with the password and a right current code:
    TOTP or a recovery code. Support staff must keep MFA."""
    if user.is_staff_member:
        raise ApplicationError(
            AccountErrorCode.MFA_REQUIRED, "Support staff must keep two-factor authentication."
        )
    _require_password(user=user, password=password)
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        raise ApplicationError(
            AccountErrorCode.MFA_NOT_ENABLED, "Two-factor authentication is not on."
        )
    form = AuthenticateForm(user=user, data={"code": code})
    if not form.is_valid():
        raise _code_refused(form)
    if not get_mfa_adapter().can_delete_authenticator(authenticator):
        raise ApplicationError(
            AccountErrorCode.MFA_REQUIRED, "Two-factor authentication cannot be turned off."
        )
    with transaction.atomic():
        delete_and_cleanup(request, authenticator)
    get_adapter(request).send_notification_mail("mfa/email/totp_deactivated", user)
