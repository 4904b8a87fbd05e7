"""Money: the double-entry ledger, gateway charges and refunds, invoices, idempotent requests.

Amounts are integers in minor units of an ISO 4217 currency; no floats anywhere. The ledger
is append-only: a correction is a reversing transaction, never an update. See docs/money.md.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

AMOUNT_MAX = 1_000_000_000_00  # as projects.models.AMOUNT_MAX: far above any engagement


class AppendOnly(models.Model):
    """Rows that are written once and never changed or removed (the ledger's)."""

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are never changed: add a reversal.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{type(self).__name__} rows are never deleted.")


class Account(models.Model):
    """A ledger account. Its balance is the sum of its entries, never a stored number.

    Money from outside enters through a buyer's ``payments_in`` account (whose balance goes
    negative by what the buyer paid) and leaves through ``refunds_out`` (positive by what went
    back); ``escrow`` is per contract, ``provider`` per provider, ``fees`` the platform's.
    """

    class Kind(models.TextChoices):
        PAYMENTS_IN = "payments_in", "Buyer's payments in"
        ESCROW = "escrow", "Escrow of a contract"
        PROVIDER = "provider", "Provider's balance"
        FEES = "fees", "Platform fees"
        REFUNDS_OUT = "refunds_out", "Refunds out to a buyer"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contract = models.ForeignKey(
        "projects.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # One account per owner and currency (NULLs are distinct in a plain unique index).
            models.UniqueConstraint(
                fields=["kind", "currency", "user"],
                condition=Q(user__isnull=False),
                name="one_account_per_user",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency", "contract"],
                condition=Q(contract__isnull=False),
                name="one_account_per_contract",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=Q(user__isnull=True, contract__isnull=True),
                name="one_platform_account",
            ),
            models.CheckConstraint(
                name="account_owner_fits_kind",
                condition=Q(kind="escrow", contract__isnull=False, user__isnull=True)
                | Q(kind="fees", contract__isnull=True, user__isnull=True)
                | Q(
                    kind__in=["payments_in", "provider", "refunds_out"],
                    contract__isnull=True,
                    user__isnull=False,
                ),
            ),
        ]

    def __str__(self) -> str:
        owner = self.contract_id or self.user_id or "platform"
        return f"{self.kind} {owner} {self.currency}"


class LedgerTransaction(AppendOnly):
    """One movement of money: entries that sum to zero per currency."""

    class Kind(models.TextChoices):
        FUNDING = "funding", "Escrow funded"
        RELEASE = "release", "Payment released"
        REFUND = "refund", "Refund"
        ESCROW_RETURN = "escrow_return", "Escrow returned"
        SETTLEMENT = "settlement", "Dispute settled"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    contract = models.ForeignKey(
        "projects.Contract", on_delete=models.PROTECT, related_name="ledger_transactions"
    )
    invoice = models.ForeignKey(
        "Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on contract {self.contract_id}"


class Entry(AppendOnly):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(help_text="Signed minor units: + into, - out of the account.")

    class Meta:
        constraints = [
            models.CheckConstraint(name="entry_not_zero", condition=~Q(amount=0)),
        ]


class GatewayOperation(models.Model):
    """A charge or refund sent to the payment gateway.

    A refund pays out (part of) a ledger movement to the buyer's ``refunds_out`` account,
    against one charge of the same contract: the ledger moves first, and the refund goes to the
    card that paid.

    Its outbound idempotency key is stored (and committed) before the gateway is called, so a
    retry after a crash sends the same key and the gateway does the operation once. The state
    moves once, from ``pending``, by a conditional update; confirmations delivered again or out
    of order change nothing.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey("projects.Contract", on_delete=models.PROTECT, related_name="+")
    payment_method = models.CharField(max_length=64)
    charge = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text="A refund's charge: a gateway refunds a charge, up to what it charged.",
    )
    ledger_transaction = models.ForeignKey(
        LedgerTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gateway_refunds",
        help_text="A refund's ledger movement to refunds_out, which it pays out.",
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    failure_code = models.CharField(max_length=32, blank=True)
    gateway_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="operation_amount_sane", condition=Q(amount__gt=0, amount__lte=AMOUNT_MAX)
            ),
            models.CheckConstraint(
                name="refund_names_its_charge",
                condition=Q(kind="charge", charge__isnull=True, ledger_transaction__isnull=True)
                | Q(kind="refund", charge__isnull=False, ledger_transaction__isnull=False),
            ),
        ]


class Invoice(models.Model):
    """An invoice the provider raised in the contract's chat.

    issued → paid | declined | cancelled; issued → disputed (frozen until the dispute ends).
    """

    class State(models.TextChoices):
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"
        DISPUTED = "disputed", "Disputed"

    contract = models.ForeignKey(
        "projects.Contract", on_delete=models.PROTECT, related_name="invoices"
    )
    milestone = models.ForeignKey(
        "projects.Milestone",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    currency = models.CharField(max_length=3)
    items = models.JSONField(help_text='[{"description", "amount"}], amounts in minor units.')
    total = models.BigIntegerField()
    note = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ISSUED)
    issued_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="Paid automatically then, unless decided or disputed.")
    reminded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    fee = models.BigIntegerField(default=0, help_text="The platform fee taken when paid.")
    refunded = models.BigIntegerField(default=0, help_text="Refunded so far, of the total paid.")

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="invoice_total_sane", condition=Q(total__gt=0, total__lte=AMOUNT_MAX)
            ),
            models.CheckConstraint(
                name="invoice_refunds_within_paid",
                condition=Q(refunded__gte=0, refunded__lte=models.F("total"))
                & (Q(refunded=0) | Q(state="paid")),
            ),
            models.CheckConstraint(
                name="invoice_fee_within_total",
                condition=Q(fee__gte=0, fee__lte=models.F("total")),
            ),
        ]

    def __str__(self) -> str:
        return f"invoice {self.pk} of contract {self.contract_id} ({self.state})"


class IdempotentRequest(models.Model):
    """The first answer to an unsafe money request, kept under its ``Idempotency-Key``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_answer_per_key"),
        ]


class EscrowReturn(models.Model):
    """Payment protection after a provider's withdrawal: one row per withdrawn contract.

    The schedule makes it when it first sees the withdrawal (posting the notice to the chat,
    if escrow holds anything), and settles it once: by returning what escrow holds to the
    buyer at ``due_at``, or with nothing to return. Settled rows are never looked at again.
    """

    contract = models.OneToOneField(
        "projects.Contract", on_delete=models.PROTECT, related_name="escrow_return"
    )
    due_at = models.DateTimeField(help_text="The withdrawal plus WITHDRAWAL_NOTICE_HOURS.")
    noticed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the chat was told; empty if there was nothing to."
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    returned = models.BigIntegerField(default=0, help_text="What went back to the buyer.")
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="escrow_return_settled_once",
                condition=Q(settled_at__isnull=True, returned=0, ledger_transaction__isnull=True)
                | Q(settled_at__isnull=False, returned=0, ledger_transaction__isnull=True)
                | Q(settled_at__isnull=False, returned__gt=0, ledger_transaction__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"escrow return of contract {self.contract_id}"


class EscrowHold(models.Model):
    """The buyer asks support to keep a withdrawn contract's escrow (for a replacement
    provider) instead of having it returned.

    While open (not released) — requested or granted — it stops the return: support grants it
    (the escrow is kept) or releases it (a refusal, or the end of the hold), and the return then
    runs at the next schedule. One open hold per contract.
    """

    contract = models.ForeignKey(
        "projects.Contract", on_delete=models.PROTECT, related_name="escrow_holds"
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(released_at__isnull=True),
                name="one_open_escrow_hold",
            ),
            models.CheckConstraint(
                name="escrow_hold_granted_by_whom",
                condition=Q(granted_by__isnull=True, granted_at__isnull=True)
                | Q(granted_by__isnull=False, granted_at__isnull=False),
            ),
            models.CheckConstraint(
                name="escrow_hold_released_by_whom",
                condition=Q(released_by__isnull=True, released_at__isnull=True)
                | Q(released_by__isnull=False, released_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"escrow hold {self.pk} of contract {self.contract_id} ({self.state})"

    @property
    def state(self) -> str:
        if self.released_at is not None:
            return "released"
        return "granted" if self.granted_at is not None else "requested"


class EscrowFreeze(models.Model):
    """Part of a contract's escrow frozen by a dispute: no payment, auto-release or return
    may take it until the dispute settles it (``settled_at``). One open freeze per reference."""

    contract = models.ForeignKey(
        "projects.Contract", on_delete=models.PROTECT, related_name="escrow_freezes"
    )
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=64, help_text='What froze it, e.g. "dispute-7".')
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    ledger_transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="freeze_amount_sane", condition=Q(amount__gt=0, amount__lte=AMOUNT_MAX)
            ),
            models.UniqueConstraint(fields=["reference"], name="one_freeze_per_reference"),
        ]

    def __str__(self) -> str:
        return f"freeze {self.reference} of contract {self.contract_id}"
