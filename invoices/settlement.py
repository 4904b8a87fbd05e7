"""Escrow frozen by a dispute, and its settlement through the ledger. See docs/disputes.md.

A freeze (``EscrowFreeze``) sets part of a contract's escrow aside: payment of an invoice, the
auto-release and the escrow return after a withdrawal may take only the *available* escrow —
the balance less every open freeze (``escrow_available``). The freeze ends when the dispute
settles it (``escrow_settle``): one ``settlement`` transaction splits the frozen amount between
the buyer (a refund, paid out to the card by the gateway) and the provider (a release, less the
platform fee).

Locks, in the project's one order: the contract's row, then the freeze's, then ledger accounts
by primary key (``accounts_locked``), then the charges a refund draws on (``refunds_record``).
Every debit of escrow reads the freezes after it holds the escrow account's lock, and a freeze
is made under that same lock, so a payment and a dispute opened at the same moment never both
count on the same money. The contract's row is locked ``FOR NO KEY UPDATE``: a payment holding
the escrow's lock inserts a ledger transaction, whose foreign key takes ``KEY SHARE`` on the
contract's row — which ``FOR UPDATE`` would block, and the two would deadlock.

This module builds on ``invoices.services``, where ``escrow_available`` lives (payments read
it too).
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from chatbox.errors import ApplicationError
from invoices.errors import MoneyErrorCode
from invoices.models import Account, EscrowFreeze, Invoice, LedgerTransaction
from invoices.services import (
    account_of,
    accounts_locked,
    balance_of,
    escrow_available,
    fee_of,
    ledger_post,
    refunds_record,
    refunds_send,
)
from projects.models import Contract
from projects.money import format_amount


def _contract_locked(contract_id: int) -> Contract:
    return (
        Contract.objects.select_for_update(of=("self",), no_key=True)
        .select_related("buyer", "provider")
        .get(pk=contract_id)
    )


@transaction.atomic
def escrow_freeze(*, contract: Contract, amount: int, reference: str) -> EscrowFreeze:
    """Freeze ``amount`` of the contract's available escrow under ``reference`` (unique: one
    freeze per reference, ever). Refused with 409 ``escrow_insufficient`` (``fields.available``)
    when more than is available. Locks the contract's row, then the escrow account."""
    contract = _contract_locked(contract.pk)
    escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
    accounts_locked(escrow)
    available = escrow_available(contract)  # read under the escrow's lock
    if amount > available:
        raise ApplicationError(
            MoneyErrorCode.ESCROW_INSUFFICIENT,
            f"Escrow has {format_amount(max(available, 0), contract.currency)} available.",
            {"available": max(available, 0), "amount": [f"At most {max(available, 0)}."]},
        )
    return EscrowFreeze.objects.create(contract=contract, amount=amount, reference=reference)


@transaction.atomic
def escrow_settle(
    *,
    freeze_reference: str,
    refund: int,
    release: int,
    memo: str,
    invoice: Invoice | None = None,
) -> LedgerTransaction:
    """Settle an open freeze: ``refund`` back to the buyer and ``release`` to the provider,
    the two adding up to the frozen amount, in one ``settlement`` transaction —
    escrow -(refund + release), provider +(release - fee), fees +fee, refunds_out +refund,
    where fee = ``fee_of(release)``. The gateway's refunds of ``refund`` are cut in the same
    transaction (``refunds_record``) and sent after it commits (``refunds_send``; a process
    that stops in between leaves them pending for ``refunds_pending_send``). The freeze is
    marked settled by a conditional update: it settles once.

    The caller has checked the split (a wrong one is a defect: ``ValueError``). ``invoice``,
    when the dispute is about one, is named on the ledger transaction.
    """
    found = EscrowFreeze.objects.filter(reference=freeze_reference).first()
    if found is None:
        raise ValueError(f"no escrow freeze {freeze_reference!r}")
    contract = _contract_locked(found.contract_id)
    freeze = EscrowFreeze.objects.select_for_update().get(pk=found.pk)
    for amount in (refund, release):
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError("a settlement's parts are integers of minor units, not negative")
    if refund + release != freeze.amount:
        raise ValueError(f"{refund} + {release} is not the frozen {freeze.amount}")
    if freeze.settled_at is not None:
        raise RuntimeError(f"escrow freeze {freeze_reference} is settled already")
    currency = contract.currency
    escrow = account_of(Account.Kind.ESCROW, currency, contract=contract)
    provider = account_of(Account.Kind.PROVIDER, currency, user=contract.provider)
    fees = account_of(Account.Kind.FEES, currency)
    refunds = account_of(Account.Kind.REFUNDS_OUT, currency, user=contract.buyer)
    accounts_locked(escrow, provider, fees, refunds)
    held = balance_of(escrow)
    if held < freeze.amount:  # every debit of escrow leaves what is frozen: a broken ledger
        raise RuntimeError(f"escrow of contract {contract.pk} holds less than freeze {freeze.pk}")
    fee = fee_of(release)
    movement = ledger_post(
        LedgerTransaction.Kind.SETTLEMENT,
        contract=contract,
        invoice=invoice,
        legs=[
            (escrow, -(refund + release)),
            (provider, release - fee),
            (fees, fee),
            (refunds, refund),
        ],
        memo=memo,
    )
    payouts = refunds_record(movement=movement, buyer=contract.buyer) if refund else []
    settled = EscrowFreeze.objects.filter(pk=freeze.pk, settled_at__isnull=True).update(
        settled_at=timezone.now(), ledger_transaction=movement
    )
    if settled != 1:  # cannot happen under the freeze's row lock; never move money twice
        raise RuntimeError(f"escrow freeze {freeze_reference} settled twice")
    if payouts:
        # After commit, and robust: a refused or unreachable gateway leaves the refunds
        # pending for the schedule; the settlement itself stands.
        transaction.on_commit(partial(refunds_send, payouts), robust=True)
    return movement
