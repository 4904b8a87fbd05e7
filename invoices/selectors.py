"""Reads of money for the web app: a provider's balance and statement, a buyer's payments, a
contract's balances, and what the chat's invoice composer and cards need to know.

Each selector is named for whom it reads and shows only that person's own money.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings

from accounts.models import User
from chatbox.errors import ApplicationError
from invoices.models import Account, Entry, Invoice, LedgerTransaction
from invoices.services import ContractLedger, contract_ledger
from projects.contracts import contract_for_party, engagement_links
from projects.models import Contract
from projects.money import minor_unit_digits

# The payment methods a buyer may choose, as the web app names them: the sandbox gateway's test
# cards (PROTOCOL.md §2). A real gateway would list the buyer's saved methods here.
PAYMENT_METHODS: list[tuple[str, str]] = [
    ("pm_sandbox_ok", "Sandbox card that pays (pm_sandbox_ok)"),
    ("pm_sandbox_declined", "Sandbox card that is declined (pm_sandbox_declined)"),
    ("pm_sandbox_insufficient", "Sandbox card without enough funds (pm_sandbox_insufficient)"),
]


# -- a provider's balance and statement ---------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One entry of an account, as a statement line: signed, + into the account."""

    at: datetime
    contract_id: int
    contract_title: str
    kind: str
    kind_label: str
    invoice_id: int | None
    amount: int
    currency: str


@dataclass(frozen=True)
class Statement:
    balances: dict[str, int]  # currency -> minor units
    movements: list[Movement]  # newest first


def _movements(entries: Any) -> list[Movement]:
    labels = dict(LedgerTransaction.Kind.choices)
    return [
        Movement(
            at=entry.transaction.created_at,
            contract_id=entry.transaction.contract_id,
            contract_title=entry.transaction.contract.title,
            kind=entry.transaction.kind,
            kind_label=labels.get(entry.transaction.kind, entry.transaction.kind),
            invoice_id=entry.transaction.invoice_id,
            amount=entry.amount,
            currency=entry.account.currency,
        )
        for entry in entries.select_related("transaction", "transaction__contract", "account")
    ]


def provider_statement(*, provider: User) -> Statement:
    """The provider's balance per currency (the sum of their ``provider`` accounts' entries)
    and every movement of those accounts, newest first."""
    entries = Entry.objects.filter(
        account__kind=Account.Kind.PROVIDER, account__user=provider
    ).order_by("-transaction__created_at", "-transaction_id", "-pk")
    movements = _movements(entries)
    balances: dict[str, int] = defaultdict(int)
    for movement in movements:
        balances[movement.currency] += movement.amount
    return Statement(balances=dict(sorted(balances.items())), movements=movements)


# -- a buyer's payments -------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidInvoice:
    id: int
    milestone_title: str
    total: int
    fee: int
    refunded: int
    currency: str
    paid_at: datetime | None


@dataclass
class ContractPayments:
    contract_id: int
    contract_title: str
    currency: str
    charges: list[Movement] = field(default_factory=list)  # amounts as paid in: positive
    invoices: list[PaidInvoice] = field(default_factory=list)
    refunds: list[Movement] = field(default_factory=list)

    @property
    def charged(self) -> int:
        return sum(movement.amount for movement in self.charges)

    @property
    def paid(self) -> int:
        return sum(invoice.total for invoice in self.invoices)

    @property
    def refunded(self) -> int:
        return sum(movement.amount for movement in self.refunds)


def buyer_payments(*, buyer: User) -> list[ContractPayments]:
    """Per contract of the buyer (newest first): the charges that funded escrow, the invoices
    paid, and the refunds received. Contracts without money are left out."""
    by_contract: dict[int, ContractPayments] = {}

    def of(contract_id: int, title: str, currency: str) -> ContractPayments:
        if contract_id not in by_contract:
            by_contract[contract_id] = ContractPayments(
                contract_id=contract_id, contract_title=title, currency=currency
            )
        return by_contract[contract_id]

    ordered = ("transaction__created_at", "transaction_id", "pk")
    charges = Entry.objects.filter(
        account__kind=Account.Kind.PAYMENTS_IN,
        account__user=buyer,
        transaction__kind=LedgerTransaction.Kind.FUNDING,
    ).order_by(*ordered)
    for movement in _movements(charges):
        # payments_in runs negative by what was paid in: the charge is the opposite.
        charge = replace(movement, amount=-movement.amount)
        of(movement.contract_id, movement.contract_title, movement.currency).charges.append(charge)
    paid = (
        Invoice.objects.filter(contract__buyer=buyer, state=Invoice.State.PAID)
        .select_related("contract", "milestone")
        .order_by("decided_at", "pk")
    )
    for invoice in paid:
        of(invoice.contract_id, invoice.contract.title, invoice.currency).invoices.append(
            PaidInvoice(
                id=invoice.pk,
                milestone_title=invoice.milestone.title if invoice.milestone else "",
                total=invoice.total,
                fee=invoice.fee,
                refunded=invoice.refunded,
                currency=invoice.currency,
                paid_at=invoice.decided_at,
            )
        )
    refunds = Entry.objects.filter(
        account__kind=Account.Kind.REFUNDS_OUT, account__user=buyer
    ).order_by(*ordered)
    for movement in _movements(refunds):
        of(movement.contract_id, movement.contract_title, movement.currency).refunds.append(
            movement
        )
    return sorted(by_contract.values(), key=lambda payments: payments.contract_id, reverse=True)


# -- a contract, as its parties see its money ---------------------------------------------------


def contract_ledger_for_party(*, user: User, contract: Contract) -> ContractLedger | None:
    """The contract's balances for its buyer or provider; ``None`` for anyone else (support
    staff read contracts but keep out of their ledgers here)."""
    if user.pk not in (contract.buyer_id, contract.provider_id):
        return None
    return contract_ledger(user=user, contract_id=contract.pk)


# -- the chat: what the invoice composer and the cards need ------------------------------------


def conversation_money(*, viewer: User, conversation_id: uuid.UUID) -> dict[str, Any]:
    """The viewer's role in the conversation's latest contract and that contract's terms, as
    the chat's scripts read them. The caller has checked that the viewer is a member.

    ``role`` is ``buyer``, ``provider`` or ``None`` (support staff, or no contract);
    ``contract`` is ``None`` when the conversation has none.
    """
    links = engagement_links(viewer=viewer, conversation_ids=[conversation_id])
    contract_id = links[conversation_id].contract_id if conversation_id in links else None
    if contract_id is None:
        return {"role": None, "contract": None}
    try:
        contract = contract_for_party(user=viewer, contract_id=contract_id)
    except ApplicationError:
        return {"role": None, "contract": None}
    role = (
        "buyer"
        if viewer.pk == contract.buyer_id
        else "provider"
        if viewer.pk == contract.provider_id
        else None
    )
    return {
        "role": role,
        "verified": bool(viewer.email_verified and viewer.phone_verified)
        if role == "provider"
        else None,
        "fee_percent": settings.PLATFORM_FEE_PERCENT,
        "payment_methods": [{"value": value, "label": label} for value, label in PAYMENT_METHODS],
        "contract": {
            "id": contract.pk,
            "title": contract.title,
            "active": contract.is_active,
            "currency": contract.currency,
            "digits": minor_unit_digits(contract.currency),
            "milestones": [
                {"id": milestone.pk, "title": milestone.title, "amount": milestone.amount}
                for milestone in contract.milestones.all()
            ],
        },
    }
