"""Every write of money: funding escrow, invoices raised in the chat, payment, decline,
cancellation, refunds, and gateway confirmations. See docs/money.md.

Locks are taken in one order everywhere: the invoice row, then ledger accounts by primary key.
Each state change of an invoice or a gateway operation is a conditional update from the state
it must be in; a ledger transaction's entries sum to zero, and escrow is checked under its
account's row lock before it is debited, so it never goes negative. A payment takes only the
*available* escrow: what a dispute froze stays for the dispute (``invoices.settlement``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from accounts.services import standing_require
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Event
from chatbox.services import conversation_contacts_unlock, system_event_post
from invoices.errors import MoneyErrorCode
from invoices.gateway import DECLINED, INSUFFICIENT, Confirmation, payment_gateway
from invoices.models import (
    AMOUNT_MAX,
    Account,
    Entry,
    EscrowFreeze,
    GatewayOperation,
    Invoice,
    LedgerTransaction,
)
from projects.listings import invalid_field, text_check
from projects.models import Contract, Milestone
from projects.money import CURRENCIES, format_amount

INVOICE_NOT_FOUND = "No such invoice."
CONTRACT_NOT_FOUND = "No such contract."
ITEMS_MAX = 50
ITEM_DESCRIPTION_MAX = 200
NOTE_MAX = 2_000


# -- the ledger --------------------------------------------------------------------------------


def account_of(
    kind: str, currency: str, *, user: User | None = None, contract: Contract | None = None
) -> Account:
    """The account, made on first use (a concurrent first use makes one, not two)."""
    owner = {"user": user, "contract": contract}
    Account.objects.bulk_create(
        [Account(kind=kind, currency=currency, **owner)], ignore_conflicts=True
    )
    return Account.objects.get(kind=kind, currency=currency, **owner)


def balance_of(account: Account) -> int:
    return int(account.entries.aggregate(total=Sum("amount"))["total"] or 0)


def accounts_locked(*accounts: Account) -> None:
    """Row locks on accounts, in primary-key order (the one order every path uses)."""
    list(Account.objects.select_for_update().filter(pk__in=[a.pk for a in accounts]).order_by("pk"))


def ledger_post(
    kind: str,
    *,
    contract: Contract,
    legs: Sequence[tuple[Account, int]],
    invoice: Invoice | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """One ledger transaction; its entries sum to zero in each currency (checked here, before
    anything is written)."""
    legs = [(account, amount) for account, amount in legs if amount]
    sums: dict[str, int] = {}
    for account, amount in legs:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("ledger amounts are integers of minor units")
        sums[account.currency] = sums.get(account.currency, 0) + amount
    if any(sums.values()):
        raise ValueError(f"unbalanced ledger transaction {kind}: {sums}")
    movement = LedgerTransaction.objects.create(
        kind=kind, contract=contract, invoice=invoice, memo=memo
    )
    Entry.objects.bulk_create(
        Entry(transaction=movement, account=account, amount=amount) for account, amount in legs
    )
    return movement


def escrow_frozen(contract: Contract) -> int:
    """What open freezes (disputes, ``invoices.settlement``) hold of the contract's escrow."""
    frozen = EscrowFreeze.objects.filter(contract=contract, settled_at__isnull=True).aggregate(
        total=Sum("amount")
    )["total"]
    return int(frozen or 0)


def escrow_available(contract: Contract) -> int:
    """The contract's escrow balance less what open freezes hold: what a payment, the
    auto-release or an escrow return may take. A caller that acts on it holds the escrow
    account's row lock (``accounts_locked``), under which freezes are made too."""
    escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
    return balance_of(escrow) - escrow_frozen(contract)


def fee_of(total: int) -> int:
    """The platform's fee on a payment: ``PLATFORM_FEE_PERCENT`` of it, rounded down."""
    return total * settings.PLATFORM_FEE_PERCENT // 100


# -- contracts, as money sees them --------------------------------------------------------------


def _contract_of_party(*, user: User, contract_id: int) -> Contract:
    contract = (
        Contract.objects.select_related("engagement", "buyer", "provider")
        .filter(pk=contract_id)
        .first()
    )
    if contract is None or user.pk not in (contract.buyer_id, contract.provider_id):
        raise ApplicationError(ErrorCode.NOT_FOUND, CONTRACT_NOT_FOUND)
    return contract


def _money_check(amount: Any, currency: str, *, contract: Contract, field: str = "amount") -> None:
    if currency not in CURRENCIES:
        raise invalid_field("currency", "Use an ISO 4217 currency code, such as EUR.")
    if currency != contract.currency:
        raise invalid_field("currency", f"This contract is in {contract.currency}.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise invalid_field(field, "Give a positive whole number of minor units (cents).")
    if amount > AMOUNT_MAX:
        raise invalid_field(field, "The amount is too large.")


def money_event_post(contract: Contract, *, kind: str, body: str, data: dict[str, Any]) -> Event:
    return system_event_post(
        conversation_id=contract.engagement.conversation_id,
        body=body,
        data={"contract": contract.pk, **data},
        kind=kind,
    )


# -- the gateway: operations stored before they are sent --------------------------------------


def _operation_open(
    *, key: str, buyer: User, contract: Contract, payment_method: str, amount: int
) -> GatewayOperation:
    """The charge under ``key``, committed before the gateway is called (or the one already
    stored under it: a retry sends the same key)."""
    with transaction.atomic():
        operation, _ = GatewayOperation.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "kind": GatewayOperation.Kind.CHARGE,
                "buyer": buyer,
                "contract": contract,
                "payment_method": payment_method,
                "amount": amount,
                "currency": contract.currency,
            },
        )
    return operation


@transaction.atomic
def confirmation_apply(*, confirmation: Confirmation) -> GatewayOperation | None:
    """Apply a gateway's confirmation of an operation, once: the operation leaves ``pending``
    by a conditional update, and only that update moves money. A repeat, or a confirmation of
    an unknown operation, changes nothing."""
    operation = (
        GatewayOperation.objects.select_for_update()
        .filter(idempotency_key=confirmation.operation)
        .first()
    )
    if operation is None:
        return None
    state = (
        GatewayOperation.State.SUCCEEDED
        if confirmation.succeeded
        else GatewayOperation.State.FAILED
    )
    moved = GatewayOperation.objects.filter(
        pk=operation.pk, state=GatewayOperation.State.PENDING
    ).update(
        state=state,
        failure_code=confirmation.failure_code,
        gateway_reference=confirmation.reference,
        settled_at=timezone.now(),
    )
    operation.refresh_from_db()
    if moved and confirmation.succeeded and operation.kind == GatewayOperation.Kind.CHARGE:
        _escrow_credit(operation)
    return operation


def _escrow_credit(operation: GatewayOperation) -> None:
    contract = Contract.objects.select_related("engagement").get(pk=operation.contract_id)
    paid_in = account_of(Account.Kind.PAYMENTS_IN, operation.currency, user=operation.buyer)
    escrow = account_of(Account.Kind.ESCROW, operation.currency, contract=contract)
    accounts_locked(paid_in, escrow)
    ledger_post(
        LedgerTransaction.Kind.FUNDING,
        contract=contract,
        legs=[(paid_in, -operation.amount), (escrow, operation.amount)],
        memo=f"charge {operation.gateway_reference}",
    )
    # The contract is funded: contact details may be shown in its conversation from now on.
    conversation_contacts_unlock(conversation_id=contract.engagement.conversation_id)
    money_event_post(
        contract,
        kind=Event.Kind.PAYMENT,
        body=f"Escrow funded: {format_amount(operation.amount, operation.currency)}.",
        data={
            "event": "escrow_funded",
            "amount": operation.amount,
            "currency": operation.currency,
            "escrow": balance_of(escrow),
        },
    )


def _charge(operation: GatewayOperation) -> GatewayOperation:
    """Send a stored charge to the gateway and apply its answer; refused, say why."""
    confirmation = payment_gateway().charge(
        key=operation.idempotency_key,
        payment_method=operation.payment_method,
        amount=operation.amount,
        currency=operation.currency,
    )
    settled = confirmation_apply(confirmation=confirmation)
    assert settled is not None
    if settled.state == GatewayOperation.State.FAILED:
        if settled.failure_code == INSUFFICIENT:
            raise ApplicationError(
                MoneyErrorCode.INSUFFICIENT_FUNDS,
                "The payment method has insufficient funds.",
                {"payment_method": [settled.payment_method]},
            )
        raise ApplicationError(
            MoneyErrorCode.PAYMENT_DECLINED,
            "The payment method was declined."
            if settled.failure_code == DECLINED
            else "The payment did not go through.",
            {"payment_method": [settled.payment_method], "reason": settled.failure_code},
        )
    return settled


def refunds_record(*, movement: LedgerTransaction, buyer: User) -> list[GatewayOperation]:
    """The outbound refunds that pay out ``movement``'s credit to the buyer's ``refunds_out``.

    A gateway refunds a charge, up to what it charged, so the amount is split over the
    contract's succeeded charges, newest first, less what earlier refunds took of each. The
    charges are locked (after the ledger accounts, the one lock order), and the refunds are
    stored in the caller's transaction: committed before ``refunds_send`` calls the gateway.
    """
    contract = movement.contract
    amount = int(
        movement.entries.filter(account__kind=Account.Kind.REFUNDS_OUT).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    charges = list(
        GatewayOperation.objects.select_for_update()
        .filter(
            kind=GatewayOperation.Kind.CHARGE,
            contract=contract,
            buyer=buyer,
            state=GatewayOperation.State.SUCCEEDED,
        )
        .order_by("-settled_at", "-pk")
    )
    taken = dict(
        GatewayOperation.objects.filter(charge__in=charges)
        .exclude(state=GatewayOperation.State.FAILED)
        .values_list("charge")
        .annotate(total=Sum("amount"))
        .values_list("charge", "total")
    )
    refunds: list[GatewayOperation] = []
    for charge in charges:
        part = min(amount, charge.amount - int(taken.get(charge.pk, 0)))
        if part <= 0:
            continue
        refunds.append(
            GatewayOperation.objects.create(
                kind=GatewayOperation.Kind.REFUND,
                idempotency_key=f"refund-{movement.pk}-{charge.pk}",
                buyer=buyer,
                contract=contract,
                payment_method=charge.payment_method,
                charge=charge,
                ledger_transaction=movement,
                amount=part,
                currency=charge.currency,
            )
        )
        amount -= part
        if amount == 0:
            return refunds
    # Money reaches escrow only through this contract's charges: this is a broken ledger.
    raise RuntimeError(f"refund {movement.pk} exceeds the charges of contract {contract.pk}")


def refunds_send(refunds: Sequence[GatewayOperation]) -> None:
    """Send stored refunds to the gateway and apply its answers. Call it after the refunds
    are committed; a crash before it leaves them pending, and ``refunds_pending_send``
    sends them again under the same keys (the gateway does each once)."""
    for refund in refunds:
        confirmation = payment_gateway().refund(
            key=refund.idempotency_key,
            charge_reference=refund.charge.gateway_reference if refund.charge else "",
            amount=refund.amount,
            currency=refund.currency,
        )
        confirmation_apply(confirmation=confirmation)


def refunds_pending_send() -> int:
    """Send every refund still pending (a crash came between storing and sending it)."""
    pending = list(
        GatewayOperation.objects.select_related("charge").filter(
            kind=GatewayOperation.Kind.REFUND, state=GatewayOperation.State.PENDING
        )
    )
    refunds_send(pending)
    return len(pending)


def _payment_method_check(payment_method: str) -> None:
    if not payment_gateway().knows(payment_method):
        raise invalid_field("payment_method", "Unknown payment method.")


# -- funding escrow ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Funded:
    contract: Contract
    escrow: int


def escrow_fund(
    *, buyer: User, contract_id: int, amount: int, currency: str, payment_method: str
) -> Funded:
    """The buyer funds the contract's escrow from a payment method (a milestone, or all)."""
    contract = _contract_of_party(user=buyer, contract_id=contract_id)
    if contract.buyer_id != buyer.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's buyer funds it.")
    if not contract.is_active:
        raise ApplicationError(ErrorCode.CLOSED, "This contract has ended.")
    _money_check(amount, currency, contract=contract)
    _payment_method_check(payment_method)
    operation = _operation_open(
        key=f"fund-{uuid.uuid4()}",
        buyer=buyer,
        contract=contract,
        payment_method=payment_method,
        amount=amount,
    )
    _charge(operation)
    escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
    return Funded(contract=contract, escrow=balance_of(escrow))


# -- invoices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    description: str
    amount: int


def _items_checked(items: Sequence[LineItem], contract: Contract) -> list[dict[str, Any]]:
    if not items:
        raise invalid_field("items", "Add at least one line.")
    if len(items) > ITEMS_MAX:
        raise invalid_field("items", f"At most {ITEMS_MAX} lines.")
    checked: list[dict[str, Any]] = []
    for item in items:
        description = text_check(
            item.description,
            field="items",
            max_length=ITEM_DESCRIPTION_MAX,
            missing="Describe every line.",
        )
        _money_check(item.amount, contract.currency, contract=contract, field="items")
        checked.append({"description": description, "amount": item.amount})
    if sum(item.amount for item in items) > AMOUNT_MAX:
        raise invalid_field("items", "The total is too large.")
    return checked


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    """What an invoice's events carry (and the chat's invoice card shows)."""
    return {
        "invoice": invoice.pk,
        "state": invoice.state,
        "currency": invoice.currency,
        "total": invoice.total,
        "items": invoice.items,
        "milestone": invoice.milestone_id,
        "note": invoice.note,
        "due_at": invoice.due_at.isoformat(),
    }


@transaction.atomic
def invoice_raise(
    *,
    provider: User,
    contract_id: int,
    currency: str,
    items: Sequence[LineItem],
    note: str = "",
    milestone_id: int | None = None,
    conversation_id: uuid.UUID | str | None = None,
) -> Invoice:
    """The provider raises an invoice in the contract's chat: an ``invoice`` event. Raised
    from a conversation (``conversation_id``), the contract must be that conversation's."""
    contract = _contract_of_party(user=provider, contract_id=contract_id)
    if conversation_id is not None and str(contract.engagement.conversation_id) != str(
        conversation_id
    ):
        raise invalid_field("contract", "This contract belongs to another conversation.")
    if contract.provider_id != provider.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's provider invoices.")
    standing_require(user=provider, doing="invoice")
    if not (provider.email_verified and provider.phone_verified):
        raise ApplicationError(
            MoneyErrorCode.VERIFICATION_REQUIRED,
            "Verify your e-mail address and phone number before raising invoices.",
            {"email": provider.email_verified, "phone": provider.phone_verified},
        )
    if not contract.is_active:
        raise ApplicationError(ErrorCode.CLOSED, "This contract has ended.")
    if currency != contract.currency:
        raise invalid_field("currency", f"This contract is in {contract.currency}.")
    lines = _items_checked(items, contract)
    milestone = None
    if milestone_id is not None:
        milestone = Milestone.objects.filter(pk=milestone_id, contract=contract).first()
        if milestone is None:
            raise invalid_field("milestone", "No such milestone on this contract.")
    note = text_check(note, field="note", max_length=NOTE_MAX)
    now = timezone.now()
    invoice = Invoice.objects.create(
        contract=contract,
        milestone=milestone,
        currency=currency,
        items=lines,
        total=sum(int(line["amount"]) for line in lines),
        note=note,
        issued_at=now,
        due_at=now + timedelta(days=settings.INVOICE_AUTO_RELEASE_DAYS),
    )
    money_event_post(
        contract,
        kind=Event.Kind.INVOICE,
        body=f"Invoice {invoice.pk}: {format_amount(invoice.total, currency)}.",
        data={"event": "invoice_issued", **invoice_data(invoice)},
    )
    return invoice


def _invoice_locked(invoice_id: int) -> Invoice:
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contract", "contract__engagement")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, INVOICE_NOT_FOUND)
    return invoice


def invoice_for_party(*, user: User, invoice_id: int) -> Invoice:
    """The one door to an invoice: the contract's parties and support staff."""
    invoice = Invoice.objects.select_related("contract").filter(pk=invoice_id).first()
    if invoice is None or not (
        user.pk in (invoice.contract.buyer_id, invoice.contract.provider_id) or user.is_staff_member
    ):
        raise ApplicationError(ErrorCode.NOT_FOUND, INVOICE_NOT_FOUND)
    return invoice


def _transition(invoice: Invoice, state: str, **changes: Any) -> None:
    """issued → ``state``, as a conditional update; caller holds the invoice's row lock."""
    moved = Invoice.objects.filter(pk=invoice.pk, state=Invoice.State.ISSUED).update(
        state=state, decided_at=timezone.now(), **changes
    )
    if moved != 1:
        raise ApplicationError(
            MoneyErrorCode.INVOICE_NOT_ISSUED,
            f"This invoice is {invoice.get_state_display().lower()}.",
            {"state": invoice.state},
        )
    invoice.refresh_from_db()


def _issued_check(invoice: Invoice) -> None:
    if invoice.state != Invoice.State.ISSUED:
        raise ApplicationError(
            MoneyErrorCode.INVOICE_NOT_ISSUED,
            f"This invoice is {invoice.get_state_display().lower()}.",
            {"state": invoice.state},
        )


def invoice_pay(
    *, buyer: User, invoice_id: int, payment_method: str = "", automatic: bool = False
) -> Invoice:
    """The buyer confirms payment: the total leaves escrow for the provider, less the fee.

    A shortfall in escrow is charged to ``payment_method`` first, under a key derived from the
    invoice and the number of declined attempts, so concurrent confirmations charge it once and
    a declined card does not block a good one. ``automatic``: the auto-release of an
    invoice past its due date (``buyer`` is then the contract's buyer).
    """
    invoice = invoice_for_party(user=buyer, invoice_id=invoice_id)
    contract = invoice.contract
    if contract.buyer_id != buyer.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's buyer pays invoices.")
    _issued_check(invoice)
    if payment_method:
        # A method the gateway does not know is bad input even when escrow covers the total.
        _payment_method_check(payment_method)
    # What a dispute froze is not there to pay with: the shortfall counts the available escrow.
    shortfall = invoice.total - escrow_available(contract)
    # The state is read again after the balance: a payment committed before that read shows
    # here, so a late confirmation is told the invoice is paid, not that escrow is short, and
    # never charges the payment method for an invoice already paid.
    invoice.refresh_from_db(fields=["state"])
    _issued_check(invoice)
    if shortfall > 0 and not automatic:
        if not payment_method:
            raise ApplicationError(
                MoneyErrorCode.ESCROW_INSUFFICIENT,
                f"Escrow holds {format_amount(invoice.total - shortfall, invoice.currency)}: "
                "give a payment method for the rest.",
                {"shortfall": shortfall, "payment_method": ["Required for the shortfall."]},
            )
        # One key per attempt: concurrent confirmations share it (and charge once), while a
        # declined attempt does not block the next one with another payment method.
        prefix = f"invoice-{invoice.pk}-shortfall-"
        failed = GatewayOperation.objects.filter(
            idempotency_key__startswith=prefix, state=GatewayOperation.State.FAILED
        ).count()
        operation = _operation_open(
            key=f"{prefix}{failed}",
            buyer=buyer,
            contract=contract,
            payment_method=payment_method,
            amount=shortfall,
        )
        _charge(operation)
    return _release(invoice_id=invoice.pk, automatic=automatic)


@transaction.atomic
def _release(*, invoice_id: int, automatic: bool) -> Invoice:
    invoice = _invoice_locked(invoice_id)
    _issued_check(invoice)
    contract = invoice.contract
    escrow = account_of(Account.Kind.ESCROW, invoice.currency, contract=contract)
    provider = account_of(Account.Kind.PROVIDER, invoice.currency, user=contract.provider)
    fees = account_of(Account.Kind.FEES, invoice.currency)
    accounts_locked(escrow, provider, fees)
    # Read under the escrow's lock, which a dispute's freeze takes too: frozen money stays.
    held = escrow_available(contract)
    if held < invoice.total:
        raise ApplicationError(
            MoneyErrorCode.ESCROW_INSUFFICIENT,
            f"Escrow has {format_amount(max(held, 0), invoice.currency)} available, less than "
            "the invoice.",
            {"shortfall": invoice.total - held},
        )
    fee = fee_of(invoice.total)
    _transition(invoice, Invoice.State.PAID, fee=fee)
    ledger_post(
        LedgerTransaction.Kind.RELEASE,
        contract=contract,
        invoice=invoice,
        legs=[(escrow, -invoice.total), (provider, invoice.total - fee), (fees, fee)],
    )
    how = "paid automatically (due date passed)" if automatic else "paid"
    money_event_post(
        contract,
        kind=Event.Kind.PAYMENT,
        body=(
            f"Invoice {invoice.pk} {how}: {format_amount(invoice.total, invoice.currency)}, "
            f"{format_amount(invoice.total - fee, invoice.currency)} to the provider after "
            f"the {format_amount(fee, invoice.currency)} fee."
        ),
        data={
            "event": "invoice_paid",
            "invoice": invoice.pk,
            "total": invoice.total,
            "fee": fee,
            "released": invoice.total - fee,
            "currency": invoice.currency,
            "automatic": automatic,
        },
    )
    return invoice


@transaction.atomic
def invoice_decline(*, buyer: User, invoice_id: int, reason: str) -> Invoice:
    invoice = invoice_for_party(user=buyer, invoice_id=invoice_id)
    if invoice.contract.buyer_id != buyer.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's buyer declines.")
    reason = text_check(reason, field="reason", max_length=NOTE_MAX, missing="Say why.")
    invoice = _invoice_locked(invoice_id)
    _transition(invoice, Invoice.State.DECLINED, decline_reason=reason)
    money_event_post(
        invoice.contract,
        kind=Event.Kind.INVOICE,
        body=f"Invoice {invoice.pk} declined: {reason}",
        data={"event": "invoice_declined", **invoice_data(invoice)},
    )
    return invoice


@transaction.atomic
def invoice_cancel(*, provider: User, invoice_id: int) -> Invoice:
    invoice = invoice_for_party(user=provider, invoice_id=invoice_id)
    if invoice.contract.provider_id != provider.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's provider cancels.")
    invoice = _invoice_locked(invoice_id)
    _transition(invoice, Invoice.State.CANCELLED)
    money_event_post(
        invoice.contract,
        kind=Event.Kind.INVOICE,
        body=f"Invoice {invoice.pk} cancelled by the provider.",
        data={"event": "invoice_cancelled", **invoice_data(invoice)},
    )
    return invoice


def invoice_refund(*, user: User, invoice_id: int, amount: int) -> Invoice:
    """A refund of a paid invoice, by its provider (goodwill) or support staff: never more
    than paid and not yet refunded. The provider's part and the fee's share go back, and the
    gateway pays it out to the card that paid."""
    invoice, refunds = _invoice_refund_record(user=user, invoice_id=invoice_id, amount=amount)
    refunds_send(refunds)
    return invoice


@transaction.atomic
def _invoice_refund_record(
    *, user: User, invoice_id: int, amount: int
) -> tuple[Invoice, list[GatewayOperation]]:
    invoice = invoice_for_party(user=user, invoice_id=invoice_id)
    contract = invoice.contract
    if not (user.pk == contract.provider_id or user.is_staff_member):
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the provider or support refunds.")
    invoice = _invoice_locked(invoice_id)
    if invoice.state != Invoice.State.PAID:
        raise ApplicationError(
            MoneyErrorCode.INVOICE_NOT_PAID,
            "Only a paid invoice is refunded.",
            {"state": invoice.state},
        )
    _money_check(amount, invoice.currency, contract=contract)
    left = invoice.total - invoice.refunded
    if amount > left:
        raise ApplicationError(
            MoneyErrorCode.REFUND_TOO_LARGE,
            f"At most {format_amount(left, invoice.currency)} is left to refund.",
            {"amount": [f"At most {left}."], "refundable": left},
        )
    # The fee goes back in proportion; what the fee keeps of earlier refunds is counted so
    # that a full refund, in parts, returns exactly the whole fee.
    fee_back = (invoice.refunded + amount) * invoice.fee // invoice.total - (
        invoice.refunded * invoice.fee // invoice.total
    )
    provider = account_of(Account.Kind.PROVIDER, invoice.currency, user=contract.provider)
    fees = account_of(Account.Kind.FEES, invoice.currency)
    refunds = account_of(Account.Kind.REFUNDS_OUT, invoice.currency, user=contract.buyer)
    accounts_locked(provider, fees, refunds)
    Invoice.objects.filter(pk=invoice.pk).update(refunded=invoice.refunded + amount)
    invoice.refresh_from_db()
    movement = ledger_post(
        LedgerTransaction.Kind.REFUND,
        contract=contract,
        invoice=invoice,
        legs=[(provider, -(amount - fee_back)), (fees, -fee_back), (refunds, amount)],
    )
    payouts = refunds_record(movement=movement, buyer=contract.buyer)
    money_event_post(
        contract,
        kind=Event.Kind.PAYMENT,
        body=f"Refund on invoice {invoice.pk}: {format_amount(amount, invoice.currency)}.",
        data={
            "event": "refund",
            "invoice": invoice.pk,
            "amount": amount,
            "refunded": invoice.refunded,
            "currency": invoice.currency,
            "by": user.pk,
        },
    )
    return invoice, payouts


# -- statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractLedger:
    currency: str
    escrow: int
    provider: int
    fees: int
    refunded: int
    entries: list[dict[str, Any]]


def contract_ledger(*, user: User, contract_id: int) -> ContractLedger:
    """The contract's balances and movements, for its parties (PROTOCOL.md §2)."""
    contract = _contract_of_party(user=user, contract_id=contract_id)
    currency = contract.currency
    movements = (
        Entry.objects.filter(transaction__contract=contract)
        .select_related("transaction", "account")
        .order_by("transaction__created_at", "transaction_id", "pk")
    )

    def contract_sum(kind: str) -> int:
        return sum(e.amount for e in movements if e.account.kind == kind)

    return ContractLedger(
        currency=currency,
        escrow=contract_sum(Account.Kind.ESCROW),
        provider=contract_sum(Account.Kind.PROVIDER),
        fees=contract_sum(Account.Kind.FEES),
        refunded=contract_sum(Account.Kind.REFUNDS_OUT),
        entries=[
            {
                "transaction": entry.transaction_id,
                "kind": entry.transaction.kind,
                "account": entry.account.kind,
                "amount": entry.amount,
                "invoice": entry.transaction.invoice_id,
                "at": entry.transaction.created_at.isoformat(),
            }
            for entry in movements
        ],
    )
