from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone


class User(AbstractUser):
    """A person on the marketplace. One person may be both a buyer and a provider."""

    class Standing(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        BANNED = "banned", "Banned"

    display_name = models.CharField(max_length=150, blank=True)
    is_buyer = models.BooleanField(default=False)
    is_provider = models.BooleanField(default=False)
    is_support = models.BooleanField(
        default=False, help_text="Support staff: reads evidence on a need-to-know basis."
    )
    standing = models.CharField(max_length=16, choices=Standing.choices, default=Standing.ACTIVE)
    suspended_until = models.DateTimeField(
        null=True, blank=True, help_text="End of a suspension; empty means until lifted."
    )
    # Verification: each badge is the moment it was earned (empty: not verified). E-mail
    # verification is kept by django-allauth's EmailAddress.
    phone_number = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +4930…")
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    id_verified_at = models.DateTimeField(null=True, blank=True)
    business_verified_at = models.DateTimeField(null=True, blank=True)
    vetted_at = models.DateTimeField(
        null=True, blank=True, help_text="When support staff screened and vetted the provider."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="suspension_end_only_when_suspended",
                condition=Q(suspended_until__isnull=True) | Q(standing="suspended"),
            )
        ]

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_banned(self) -> bool:
        return self.standing == self.Standing.BANNED

    @property
    def is_suspended(self) -> bool:
        """Suspended now: a suspension with an end date lapses by itself."""
        if self.standing != self.Standing.SUSPENDED:
            return False
        return self.suspended_until is None or self.suspended_until > timezone.now()

    @property
    def email_verified(self) -> bool:
        """A verified address in django-allauth's EmailAddress (the only record of it)."""
        from allauth.account.models import EmailAddress

        return EmailAddress.objects.filter(user=self, verified=True).exists()

    @property
    def is_staff_member(self) -> bool:
        """Support staff or Django staff: must use MFA before any staff page."""
        return self.is_support or self.is_staff

    @property
    def phone_verified(self) -> bool:
        return self.phone_verified_at is not None

    @property
    def id_verified(self) -> bool:
        return self.id_verified_at is not None

    @property
    def business_verified(self) -> bool:
        return self.business_verified_at is not None

    @property
    def is_vetted(self) -> bool:
        return self.vetted_at is not None

    @property
    def may_send(self) -> bool:
        return not self.is_banned and not self.is_suspended


class TermsAcceptance(models.Model):
    """A user accepted a version of the Terms of Service (settings.TERMS_VERSION) at a time."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="terms_acceptances")
    version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="terms_accepted_once")
        ]


class PhoneVerification(models.Model):
    """A one-time code sent by SMS to prove a phone number. Only the code's hash is kept.

    One pending code per user: sending a new one replaces the old. A code works once
    (``used_at``), for ``PHONE_CODE_TTL`` after ``created_at``, and for a few attempts.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="phone_verification")
    phone_number = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
