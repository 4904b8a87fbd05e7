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
    """The audit log of who read which evidence: one row per staff read, never changed.

    A read of a conversation names the case it was read for, and why."""

    class What(models.TextChoices):
        IDENTITY_DOCUMENT = "identity_document", "ID document"
        CONVERSATION = "conversation", "Conversation"
        FILE = "file", "File in a conversation"

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="evidence_accesses"
    )
    what = models.CharField(max_length=32, choices=What.choices)
    object_id = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    case = models.ForeignKey(
        "Case", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence_reads"
    )
    why = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["what", "object_id"], name="evidence_access_object")]

    def __str__(self) -> str:
        return f"{self.staff_id} read {self.what} {self.object_id} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise TypeError("The evidence log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("The evidence log is append-only.")


# -- reports and cases ---------------------------------------------------------------------------


class Reason(models.TextChoices):
    """Why something is reported (PROTOCOL.md §6), and ``safety_emergency``, which goes to the
    top of the queue and notifies the staff on duty."""

    SPAM = "spam", "Spam"
    SCAM = "scam", "Scam or fraud"
    HARASSMENT = "harassment", "Harassment"
    OFF_PLATFORM_PAYMENT = "off_platform_payment", "Asks to pay off the platform"
    CONTACT_DETAILS = "contact_details", "Shares contact details"
    IP_INFRINGEMENT = "ip_infringement", "Intellectual property infringement"
    INAPPROPRIATE = "inappropriate", "Inappropriate content"
    OTHER = "other", "Something else"
    SAFETY_EMERGENCY = "safety_emergency", "Safety emergency"


class Case(models.Model):
    """Support's file on one target: reports of it merge into one open case with a count.

    ``target_key`` names the target (``message:<conversation>:<seq>``, ``user:<id>``,
    ``project:<id>``, ``dispute:<id>``, ``risk:<user id>``, ``help:<conversation>``); one open
    case per target. A case on a conversation (``conversation`` set) opens its decrypted
    reading to support staff while it is open.
    """

    class Kind(models.TextChoices):
        REPORT = "report", "Report"
        DISPUTE = "dispute", "Dispute"
        RISK = "risk", "Fraud risk"
        HELP = "help", "Help request"

    class TargetType(models.TextChoices):
        MESSAGE = "message", "Message"
        USER = "user", "Member"
        PROJECT = "project", "Listing"
        CONVERSATION = "conversation", "Conversation"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_key = models.CharField(max_length=120)
    conversation = models.ForeignKey(
        "chatbox.Conversation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    seq = models.PositiveIntegerField(null=True, blank=True)
    event_hash = models.CharField(max_length=64, blank=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases_about",
        help_text="Who the case is about: the message's sender, the member, the listing's buyer.",
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    reason = models.CharField(
        max_length=32, choices=Reason.choices, help_text="The most serious reason reported."
    )
    report_count = models.PositiveIntegerField(default=0)
    money_at_stake = models.BigIntegerField(default=0, help_text="Minor units, for priority.")
    currency = models.CharField(max_length=3, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["target_key"], condition=Q(status="open"), name="one_open_case_per_target"
            ),
            models.CheckConstraint(
                name="case_closed_when_closed",
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.kind} {self.target_key}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Report(models.Model):
    """One member's report of a target; the reported party never learns who reported."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_made"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "reporter"], name="one_report_per_reporter"),
        ]


class CaseNote(models.Model):
    """Support's private note on a case: never shown to members."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]


class AccountAction(models.Model):
    """A warning, a suspension until a date, or a permanent ban: with a reason, by whom, when."""

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        SUSPENSION = "suspension", "Suspension"
        BAN = "ban", "Ban"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_actions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    until = models.DateTimeField(null=True, blank=True, help_text="A suspension's end.")
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    lifted_at = models.DateTimeField(null=True, blank=True, help_text="Overturned on appeal.")

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="only_a_suspension_has_an_end",
                condition=Q(kind="suspension", until__isnull=False) | Q(until__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.user_id}"


class Appeal(models.Model):
    """The one appeal a member makes against an account action, and support's answer."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        UPHELD = "upheld", "Upheld"
        OVERTURNED = "overturned", "Overturned"

    action = models.OneToOneField(AccountAction, on_delete=models.PROTECT, related_name="appeal")
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)


# -- disputes -----------------------------------------------------------------------------------


class Dispute(models.Model):
    """A party disputes a contract or one of its invoices; the disputed escrow is frozen.

    Stages: ``direct`` (the parties trade settlement proposals), ``mediation`` (a support
    mediator joins and proposes), ``arbitration`` (a staff arbitrator's binding decision).
    ``resolved`` when a proposal is accepted, a decision made, or a party loses by default.
    """

    class Stage(models.TextChoices):
        DIRECT = "direct", "Direct resolution"
        MEDIATION = "mediation", "Mediation"
        ARBITRATION = "arbitration", "Arbitration"
        RESOLVED = "resolved", "Resolved"

    class Outcome(models.TextChoices):
        SETTLED = "settled", "Settled by the parties"
        DECIDED = "decided", "Decided by arbitration"
        DEFAULT = "default", "Lost by default"

    contract = models.ForeignKey("projects.Contract", on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    amount = models.BigIntegerField(help_text="The disputed amount, frozen in escrow.")
    currency = models.CharField(max_length=3)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DIRECT)
    deadline_at = models.DateTimeField(help_text="The current stage's window ends.")
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="dispute"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    refund = models.BigIntegerField(default=0, help_text="What went back to the buyer.")
    release = models.BigIntegerField(default=0, help_text="What went to the provider.")

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.CheckConstraint(name="dispute_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="dispute_split_within_amount",
                condition=Q(refund__gte=0, release__gte=0)
                & Q(refund__lte=models.F("amount") - models.F("release")),
            ),
            models.CheckConstraint(
                name="dispute_resolved_when_resolved",
                condition=Q(stage="resolved", resolved_at__isnull=False) & ~Q(outcome="")
                | (~Q(stage="resolved") & Q(resolved_at__isnull=True, outcome="")),
            ),
            models.UniqueConstraint(
                fields=["contract"],
                condition=~Q(stage="resolved"),
                name="one_open_dispute_per_contract",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} on contract {self.contract_id} ({self.stage})"


class DisputeProposal(models.Model):
    """A settlement proposal: refund this much to the buyer, release this much to the
    provider; the two add up to the disputed amount."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        SUPERSEDED = "superseded", "Superseded"

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="proposals")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    refund = models.BigIntegerField()
    release = models.BigIntegerField()
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="proposal_amounts_not_negative", condition=Q(refund__gte=0, release__gte=0)
            ),
        ]


class LegalHold(models.Model):
    """A conversation kept past its retention period: a court order, a regulator's request, a
    claim in progress. Placed and released by an operator (``manage.py legal_hold``), with why;
    while one is in place, ``reports.retention`` neither closes nor shreds the conversation."""

    conversation = models.ForeignKey(
        "chatbox.Conversation", on_delete=models.PROTECT, related_name="+"
    )
    why = models.TextField()
    placed_by = models.CharField(max_length=150, help_text="Who placed it (an operator).")
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["placed_at", "pk"]

    def __str__(self) -> str:
        state = "released" if self.released_at else "in place"
        return f"legal hold {self.pk} on {self.conversation_id} ({state})"
