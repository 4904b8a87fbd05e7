"""TOTP codes as an authenticator app would show them, for tests."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


def wrong_code(secret: str) -> str:
    """A code the server refuses now: none of the codes of the steps it accepts around this
    one (MFA_TOTP_TOLERANCE), nor of the step that may begin before it checks."""
    counter = int(time.time()) // app_settings.TOTP_PERIOD
    span = app_settings.TOTP_TOLERANCE + 1
    accepted = {format_hotp_value(hotp_value(secret, counter + i)) for i in range(-span, span + 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)
