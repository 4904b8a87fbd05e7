"""Support staff's casework on people: ID documents, vetting requests, and the evidence log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chatbox.models import SealedFile


class StaffDecision(models.Model):
    """Who of support staff decided a case, when, and why."""

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        abstract = True


class IdentityDocument(StaffDecision, SealedFile):
    """A government ID (``identity``) or a business registration (``business``) to review.

    The file is sealed at rest in the row (``chatbox.models.SealedFile``) while
    the document waits for a decision; the decision deletes it and the row keeps who decided,
    when and why. The database refuses a decided row that still holds the file.
    """

    class Kind(models.TextChoices):
        IDENTITY = "identity", "Government ID"
        BUSINESS = "business", "Business registration"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_documents"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    uploaded_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # The sniffed type and size of the file, kept after the file is deleted.
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    blob_purpose = "identity-document"

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=Q(state="pending"),
                name="one_pending_document_per_kind",
            ),
            models.CheckConstraint(
                name="document_sealed_until_decided",
                condition=(
                    Q(
                        state="pending",
                        ciphertext__isnull=False,
                        wrapped_key__isnull=False,
                        decided_at__isnull=True,
                    )
                    | Q(
                        state__in=["approved", "rejected"],
                        ciphertext__isnull=True,
                        wrapped_key__isnull=True,
                        decided_at__isnull=False,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class VettingRequest(StaffDecision):
    """A provider asks support staff to screen their profile, portfolio and credentials."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        VETTED = "vetted", "Vetted"
        CHANGES = "changes", "Changes requested"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vetting_requests"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(state="pending"), name="one_pending_vetting_request"
            ),
            models.CheckConstraint(
                name="vetting_decided_when_not_pending",
                condition=Q(state="pending", decided_at__isnull=True)
                | Q(state__in=["vetted", "changes"], decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"vetting of {self.user_id} ({self.state})"


class EvidenceAccess(models.Model):
    """The audit log of who read which evidence: one row per staff read, never changed."""

    class What(models.TextChoices):
        IDENTITY_DOCUMENT = "identity_document", "ID document"

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evidence_accesses"
    )
    what = models.CharField(max_length=32, choices=What.choices)
    object_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["what", "object_id"], name="evidence_access_object")]

    def __str__(self) -> str:
        return f"{self.staff_id} read {self.what} {self.object_id} at {self.at:%Y-%m-%d %H:%M}"
