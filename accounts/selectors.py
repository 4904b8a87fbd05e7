"""Reads on people: verification state, MFA, terms acceptance."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings

from accounts.models import TermsAcceptance, User


def email_verification_pending(*, user: User) -> bool:
    """Signed up through allauth and not verified yet.

    Accounts made before sign-up existed (demo, admin-made) have no EmailAddress rows and
    are not held back; see docs/identity.md.
    """
    addresses = EmailAddress.objects.filter(user=user)
    return addresses.exists() and not addresses.filter(verified=True).exists()


def mfa_totp_enabled(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def terms_version_accepted(*, user: User) -> str | None:
    """The newest Terms version the user accepted, or None."""
    acceptance = TermsAcceptance.objects.filter(user=user).order_by("-accepted_at").first()
    return acceptance.version if acceptance else None


def terms_current_accepted(*, user: User) -> bool:
    return TermsAcceptance.objects.filter(user=user, version=settings.TERMS_VERSION).exists()


def account_for_user(*, user: User) -> dict[str, Any]:
    """What the signed-in user sees of their own account (``GET /api/account/``)."""
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "roles": [
            role
            for role, held in (
                ("buyer", user.is_buyer),
                ("provider", user.is_provider),
                ("support", user.is_support),
            )
            if held
        ],
        "verification": {
            "email_verified": user.email_verified,
            "phone_verified": user.phone_verified,
            "id_verified": user.id_verified,
            "business_verified": user.business_verified,
            "vetted": user.is_vetted,
        },
        "phone_number": user.phone_number,
        "mfa_enabled": mfa_totp_enabled(user=user),
        "terms_version_accepted": terms_version_accepted(user=user),
        "terms_version_current": settings.TERMS_VERSION,
    }
