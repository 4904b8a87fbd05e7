"""Money that moves on a schedule: reminders and auto-release of unanswered invoices, and
payment protection — escrow returned to the buyer after a provider's withdrawal, unless the
buyer asked support to keep it. See docs/money.md.

Each schedule takes ``now``, does what is due at that moment, and is idempotent: run twice (or
by two workers at once), it does nothing more. Celery beat runs them (``invoices.tasks``); in
the embedded default ``python manage.py run_schedules`` does the same once.

Payment protection keeps its state in two models: ``EscrowReturn`` (one per withdrawn contract:
noticed, due, settled) and ``EscrowHold`` (the buyer's request to keep the escrow, granted or
released by support). The return takes only the available escrow: what a dispute froze stays
until the dispute settles it (``invoices.settlement``). ``projects`` may not import
``invoices``, so the withdrawal itself does not call in here: the schedule finds withdrawn
contracts it has not seen and posts the notice.
Every payment-protection step locks the contract's row first (then ledger accounts by primary
key, then the conversation through the chat's own services), so a hold requested at the moment
the return runs lands either wholly before it or after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Event
from invoices.errors import MoneyErrorCode
from invoices.models import Account, EscrowHold, EscrowReturn, Invoice, LedgerTransaction
from invoices.services import (
    account_of,
    accounts_locked,
    balance_of,
    escrow_available,
    invoice_pay,
    ledger_post,
    money_event_post,
    refunds_record,
    refunds_send,
)
from projects.contracts import contract_for_party
from projects.listings import text_check
from projects.models import Contract
from projects.money import format_amount

HOLD_NOT_FOUND = "No such escrow hold."
REASON_MAX = 2_000


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%-d %B %Y, %H:%M %Z")


# -- invoices: the reminder and the auto-release ----------------------------------------------


def _reminder_mail(
    *, email: str, name: str, invoice_id: int, amount: str, title: str, when: str
) -> None:
    send_mail(
        subject=f"Invoice {invoice_id} will be paid on {when}",
        message=(
            f"Hello {name},\n\nInvoice {invoice_id} of {amount} on “{title}” will be paid "
            f"from escrow on {when} unless you pay, decline or dispute it before. Open the "
            "contract's chat to act on it."
        ),
        from_email=None,
        recipient_list=[email],
    )


def invoices_remind(*, now: datetime) -> int:
    """Remind the buyer of each issued invoice due within ``INVOICE_REMIND_DAYS_BEFORE`` days:
    once, by a system event in the chat and an e-mail sent after commit. An invoice already
    past its due date is not reminded (the auto-release is next). Returns how many."""
    window = timedelta(days=settings.INVOICE_REMIND_DAYS_BEFORE)
    due = Invoice.objects.filter(
        state=Invoice.State.ISSUED,
        reminded_at__isnull=True,
        due_at__lte=now + window,
        due_at__gt=now,
    ).select_related("contract", "contract__engagement", "contract__buyer")
    reminded = 0
    for invoice in due:
        with transaction.atomic():
            # The conditional update is the claim: of two runs, one reminds.
            if not Invoice.objects.filter(
                pk=invoice.pk, state=Invoice.State.ISSUED, reminded_at__isnull=True
            ).update(reminded_at=now):
                continue
            contract = invoice.contract
            when = _when(invoice.due_at)
            amount = format_amount(invoice.total, invoice.currency)
            money_event_post(
                contract,
                kind=Event.Kind.SYSTEM,
                body=f"Invoice {invoice.pk} ({amount}) will be paid automatically on {when} "
                "unless it is paid, declined or disputed before.",
                data={
                    "event": "invoice_reminder",
                    "invoice": invoice.pk,
                    "due_at": invoice.due_at.isoformat(),
                },
            )
            if contract.buyer.email:
                transaction.on_commit(
                    partial(
                        _reminder_mail,
                        email=contract.buyer.email,
                        name=contract.buyer.name,
                        invoice_id=invoice.pk,
                        amount=amount,
                        title=contract.title,
                        when=when,
                    )
                )
            reminded += 1
    return reminded


def _short_noticed(invoice: Invoice) -> bool:
    return Event.objects.filter(
        conversation_id=invoice.contract.engagement.conversation_id,
        data__event="auto_release_short",
        data__invoice=invoice.pk,
    ).exists()


@transaction.atomic
def _short_notice_post(*, invoice_id: int) -> None:
    """Say once in the chat that a due invoice waits because escrow does not cover it. The
    invoice's row lock makes the check and the post one step for concurrent runs."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contract", "contract__engagement")
        .filter(pk=invoice_id, state=Invoice.State.ISSUED)
        .first()
    )
    if invoice is None or _short_noticed(invoice):
        return
    money_event_post(
        invoice.contract,
        kind=Event.Kind.SYSTEM,
        body=f"Invoice {invoice.pk} is due, but escrow does not cover it: nobody was charged, "
        "and it waits for the buyer.",
        data={"event": "auto_release_short", "invoice": invoice.pk},
    )


def invoices_auto_release(*, now: datetime) -> int:
    """Pay each issued invoice past its due date from escrow, as the buyer would
    (``invoice_pay(automatic=True)``). Declined, cancelled and disputed invoices are not
    issued, so never touched. Escrow that falls short charges nobody: the invoice stays issued
    and the chat says so once. Returns how many were paid."""
    due = Invoice.objects.filter(state=Invoice.State.ISSUED, due_at__lte=now).select_related(
        "contract", "contract__buyer"
    )
    paid = 0
    for invoice in due:
        try:
            invoice_pay(buyer=invoice.contract.buyer, invoice_id=invoice.pk, automatic=True)
        except ApplicationError as refused:
            # Anything else (decided meanwhile by the buyer) just leaves the invoice alone.
            if refused.code == MoneyErrorCode.ESCROW_INSUFFICIENT:
                _short_notice_post(invoice_id=invoice.pk)
            continue
        paid += 1
    return paid


# -- payment protection: the notice, the return, the buyer's hold -----------------------------


def _contract_locked(contract_id: int) -> Contract:
    # FOR NO KEY UPDATE: a payment holding the escrow's lock inserts a ledger transaction whose
    # foreign key takes KEY SHARE on this row; FOR UPDATE would block it, and the two deadlock.
    return (
        Contract.objects.select_for_update(of=("self",), no_key=True)
        .select_related("engagement", "buyer")
        .get(pk=contract_id)
    )


def _escrow_held(contract: Contract) -> int:
    return balance_of(account_of(Account.Kind.ESCROW, contract.currency, contract=contract))


def _is_withdrawn(contract: Contract) -> bool:
    return contract.state == Contract.State.ENDED and contract.outcome == Contract.Outcome.WITHDRAWN


def _open_hold(contract: Contract) -> EscrowHold | None:
    return EscrowHold.objects.filter(contract=contract, released_at__isnull=True).first()


@transaction.atomic
def withdrawal_notice_post(*, contract: Contract, now: datetime) -> EscrowReturn:
    """Start payment protection for a withdrawn contract, once: record when its escrow returns
    (``ended_at`` + ``WITHDRAWAL_NOTICE_HOURS``) and tell the chat, unless escrow is empty
    (nothing to protect: settled at once) or the time has passed already (the return itself,
    next, is the news)."""
    contract = _contract_locked(contract.pk)
    if not _is_withdrawn(contract) or contract.ended_at is None:
        raise ApplicationError(ErrorCode.CLOSED, "The provider has not withdrawn from it.")
    if (known := EscrowReturn.objects.filter(contract=contract).first()) is not None:
        return known
    held = _escrow_held(contract)
    due_at = contract.ended_at + timedelta(hours=settings.WITHDRAWAL_NOTICE_HOURS)
    if held <= 0:
        return EscrowReturn.objects.create(contract=contract, due_at=due_at, settled_at=now)
    told = now < due_at
    record = EscrowReturn.objects.create(
        contract=contract, due_at=due_at, noticed_at=now if told else None
    )
    if told:
        amount = format_amount(held, contract.currency)
        money_event_post(
            contract,
            kind=Event.Kind.SYSTEM,
            body=f"The provider withdrew: the escrow of {amount} returns to the buyer on "
            f"{_when(due_at)} unless the buyer asks support to keep it for a replacement.",
            data={
                "event": "escrow_return_notice",
                "amount": held,
                "currency": contract.currency,
                "due_at": due_at.isoformat(),
            },
        )
    return record


def escrow_return(*, contract_id: int, now: datetime) -> EscrowReturn | None:
    """Return a withdrawn contract's escrow to the buyer if it is due and no hold is open:
    ``escrow → refunds_out``, a payment event and the gateway's refunds to the card, once.
    ``None`` if nothing was due."""
    record = _escrow_return_record(contract_id=contract_id, now=now)
    if record is not None and record.ledger_transaction is not None:
        refunds_send(list(record.ledger_transaction.gateway_refunds.select_related("charge")))
    return record


@transaction.atomic
def _escrow_return_record(*, contract_id: int, now: datetime) -> EscrowReturn | None:
    contract = _contract_locked(contract_id)
    record = EscrowReturn.objects.filter(contract=contract, settled_at__isnull=True).first()
    if record is None or record.due_at > now or _open_hold(contract) is not None:
        return None
    escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
    refunds = account_of(Account.Kind.REFUNDS_OUT, contract.currency, user=contract.buyer)
    accounts_locked(escrow, refunds)
    # Read under the escrow's lock: never more than it holds, and never what a dispute froze
    # (that waits for the dispute's settlement, which splits it between the parties).
    held = escrow_available(contract)
    movement = None
    if held > 0:
        movement = ledger_post(
            LedgerTransaction.Kind.ESCROW_RETURN,
            contract=contract,
            legs=[(escrow, -held), (refunds, held)],
            memo="provider withdrew",
        )
        refunds_record(movement=movement, buyer=contract.buyer)
    settled = EscrowReturn.objects.filter(pk=record.pk, settled_at__isnull=True).update(
        settled_at=now, returned=max(held, 0), ledger_transaction=movement
    )
    if settled != 1:  # cannot happen under the contract's lock; never move money twice
        raise RuntimeError(f"escrow return of contract {contract.pk} settled twice")
    if movement is not None:
        money_event_post(
            contract,
            kind=Event.Kind.PAYMENT,
            body=f"Escrow of {format_amount(held, contract.currency)} returned to the buyer "
            "after the provider's withdrawal.",
            data={
                "event": "escrow_returned",
                "amount": held,
                "currency": contract.currency,
                "transaction": movement.pk,
            },
        )
    record.refresh_from_db()
    return record


def escrow_returns_run(*, now: datetime) -> int:
    """Payment protection, on a schedule: post the notice for every withdrawal not seen yet,
    then return the escrow of every withdrawn contract whose notice window has passed and that
    no open hold stops. Returns on how many contracts money went back."""
    unseen = Contract.objects.filter(
        state=Contract.State.ENDED,
        outcome=Contract.Outcome.WITHDRAWN,
        escrow_return__isnull=True,
    )
    for contract in unseen:
        withdrawal_notice_post(contract=contract, now=now)
    open_hold = EscrowHold.objects.filter(contract=OuterRef("contract"), released_at__isnull=True)
    due = EscrowReturn.objects.filter(settled_at__isnull=True, due_at__lte=now).filter(
        ~Exists(open_hold)
    )
    returned = 0
    for contract_id in due.values_list("contract_id", flat=True):
        record = escrow_return(contract_id=contract_id, now=now)
        if record is not None and record.returned > 0:
            returned += 1
    return returned


@transaction.atomic
def escrow_hold_request(*, buyer: User, contract_id: int, reason: str) -> EscrowHold:
    """The buyer asks support to keep a withdrawn contract's escrow for a replacement rather
    than have it returned. While the request is open it stops the return; asking again while
    one is open returns that one."""
    contract = contract_for_party(user=buyer, contract_id=contract_id)
    if contract.buyer_id != buyer.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the contract's buyer asks for this.")
    reason = text_check(reason, field="reason", max_length=REASON_MAX, missing="Say why.")
    contract = _contract_locked(contract.pk)
    if not _is_withdrawn(contract):
        raise ApplicationError(
            ErrorCode.CLOSED,
            "Escrow is kept on request only after the provider withdraws.",
            {"state": contract.state, "outcome": contract.outcome},
        )
    if (hold := _open_hold(contract)) is not None:
        return hold
    if EscrowReturn.objects.filter(contract=contract, settled_at__isnull=False).exists():
        raise ApplicationError(ErrorCode.CLOSED, "The escrow has gone back to you already.")
    held = _escrow_held(contract)
    if held <= 0:
        raise ApplicationError(ErrorCode.CLOSED, "The escrow of this contract is empty.")
    hold = EscrowHold.objects.create(
        contract=contract, reason=reason, requested_by=buyer, requested_at=timezone.now()
    )
    money_event_post(
        contract,
        kind=Event.Kind.SYSTEM,
        body=f"{buyer.name} asked support to keep the escrow of "
        f"{format_amount(held, contract.currency)} for a replacement: it does not return "
        "while support decides.",
        data={"event": "escrow_hold_requested", "hold": hold.pk, "amount": held},
    )
    return hold


def _hold_for_staff(*, staff: User, hold_id: int) -> tuple[EscrowHold, Contract]:
    """The hold and its contract, the contract's row locked; caller is in a transaction."""
    if not staff.is_staff_member:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Support staff only.")
    found = EscrowHold.objects.filter(pk=hold_id).first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, HOLD_NOT_FOUND)
    contract = _contract_locked(found.contract_id)
    hold = EscrowHold.objects.get(pk=hold_id)  # read again under the contract's lock
    if staff.pk in (contract.buyer_id, contract.provider_id):
        raise ApplicationError(ErrorCode.FORBIDDEN, "Staff do not decide on their own contract.")
    if hold.released_at is not None:
        raise ApplicationError(ErrorCode.CLOSED, "This hold was released.", {"state": hold.state})
    return hold, contract


@transaction.atomic
def escrow_hold_grant(*, staff: User, hold_id: int) -> EscrowHold:
    """Support keeps the escrow: it no longer returns to the buyer on its own. Granting a
    granted hold changes nothing."""
    hold, contract = _hold_for_staff(staff=staff, hold_id=hold_id)
    if hold.granted_at is not None:
        return hold
    now = timezone.now()
    EscrowHold.objects.filter(pk=hold.pk, granted_at__isnull=True).update(
        granted_by=staff, granted_at=now
    )
    hold.refresh_from_db()
    amount = format_amount(_escrow_held(contract), contract.currency)
    money_event_post(
        contract,
        kind=Event.Kind.SYSTEM,
        body=f"Support keeps the escrow of {amount} for a replacement: it does not return to "
        "the buyer automatically.",
        data={"event": "escrow_hold_granted", "hold": hold.pk, "by": staff.pk},
    )
    return hold


@transaction.atomic
def escrow_hold_release(*, staff: User, hold_id: int) -> EscrowHold:
    """Support ends a hold (or refuses the request): the escrow returns to the buyer at the
    next run of the schedule, or on the notice's date if that is still ahead."""
    hold, contract = _hold_for_staff(staff=staff, hold_id=hold_id)
    now = timezone.now()
    EscrowHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_by=staff, released_at=now
    )
    hold.refresh_from_db()
    record = EscrowReturn.objects.filter(contract=contract).first()
    when = f"on {_when(record.due_at)}" if record and record.due_at > now else "shortly"
    money_event_post(
        contract,
        kind=Event.Kind.SYSTEM,
        body=f"Support released the hold on the escrow: it returns to the buyer {when}.",
        data={"event": "escrow_hold_released", "hold": hold.pk, "by": staff.pk},
    )
    return hold


def escrow_holds_open(*, staff: User) -> QuerySet[EscrowHold]:
    """Support's queue: the holds not released yet, oldest first."""
    if not staff.is_staff_member:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Support staff only.")
    return EscrowHold.objects.filter(released_at__isnull=True).select_related(
        "contract", "requested_by"
    )
