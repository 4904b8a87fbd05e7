"""Money that moves on a schedule: reminders and auto-release of unanswered invoices, and the
return of escrow after a provider's withdrawal (payment protection). See docs/money.md.

Each function takes ``now``, does what is due at that moment, and is idempotent: run twice,
it does nothing more. Celery beat runs them (``invoices.tasks``); in the embedded default,
``python manage.py run_money_schedules`` does the same once. Whether a one-time notice was
posted is read from the chat's record itself (the event is there or not).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from chatbox.errors import ApplicationError
from chatbox.models import Event
from invoices.errors import MoneyErrorCode
from invoices.models import Account, Invoice, LedgerTransaction
from invoices.services import (
    _accounts_locked,
    _post,
    _post_money_event,
    account_of,
    balance_of,
    invoice_pay,
)
from projects.models import Contract
from projects.money import format_amount


def _noticed(contract: Contract, event: str, **data: object) -> bool:
    """Whether the contract's chat already holds this notice."""
    lookups = {f"data__{key}": value for key, value in data.items()}
    return Event.objects.filter(
        conversation_id=contract.engagement.conversation_id, data__event=event, **lookups
    ).exists()


def _reminder_mail(invoice: Invoice, amount: str, when: str) -> None:
    buyer = invoice.contract.buyer
    send_mail(
        subject=f"Invoice {invoice.pk} will be paid on {when}",
        message=(
            f"Hello {buyer.name},\n\nInvoice {invoice.pk} of {amount} on "
            f"“{invoice.contract.title}” will be paid from escrow on {when} unless you pay, "
            "decline or dispute it before. Open the contract's chat to act on it."
        ),
        from_email=None,
        recipient_list=[buyer.email],
    )


def invoices_remind(*, now: datetime) -> int:
    """Remind the buyer of each issued invoice that will be paid automatically soon: once, in
    the chat and by e-mail."""
    window = timedelta(days=settings.INVOICE_REMIND_DAYS_BEFORE)
    due = Invoice.objects.filter(
        state=Invoice.State.ISSUED, reminded_at__isnull=True, due_at__lte=now + window
    ).select_related("contract", "contract__engagement", "contract__buyer")
    reminded = 0
    for invoice in due:
        with transaction.atomic():
            if not Invoice.objects.filter(
                pk=invoice.pk, state=Invoice.State.ISSUED, reminded_at__isnull=True
            ).update(reminded_at=now):
                continue  # another run got there first
            when = timezone.localtime(invoice.due_at).strftime("%-d %B %Y %H:%M")
            amount = format_amount(invoice.total, invoice.currency)
            _post_money_event(
                invoice.contract,
                kind=Event.Kind.SYSTEM,
                body=f"Invoice {invoice.pk} ({amount}) will be paid automatically on {when} "
                "unless it is paid, declined or disputed before.",
                data={"event": "invoice_reminder", "invoice": invoice.pk},
            )
            if invoice.contract.buyer.email:
                transaction.on_commit(partial(_reminder_mail, invoice, amount, when))
            reminded += 1
    return reminded


def invoices_auto_release(*, now: datetime) -> int:
    """Pay each issued invoice past its due date from escrow (never a disputed one: it is not
    issued). Escrow that falls short charges nobody: the invoice stays issued and the chat says
    so once."""
    paid = 0
    due = Invoice.objects.filter(state=Invoice.State.ISSUED, due_at__lte=now).select_related(
        "contract", "contract__engagement"
    )
    for invoice in due:
        try:
            invoice_pay(buyer=invoice.contract.buyer, invoice_id=invoice.pk, automatic=True)
        except ApplicationError as refused:
            if refused.code == MoneyErrorCode.ESCROW_INSUFFICIENT and not _noticed(
                invoice.contract, "auto_release_short", invoice=invoice.pk
            ):
                _post_money_event(
                    invoice.contract,
                    kind=Event.Kind.SYSTEM,
                    body=f"Invoice {invoice.pk} is due, but escrow does not cover it: it waits "
                    "for the buyer.",
                    data={"event": "auto_release_short", "invoice": invoice.pk},
                )
            continue
        paid += 1
    return paid


@transaction.atomic
def _escrow_return(contract: Contract) -> int:
    escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
    refunds = account_of(Account.Kind.REFUNDS_OUT, contract.currency, user=contract.buyer)
    _accounts_locked(escrow, refunds)
    held = balance_of(escrow)
    if held <= 0:
        return 0
    _post(
        LedgerTransaction.Kind.ESCROW_RETURN,
        contract=contract,
        legs=[(escrow, -held), (refunds, held)],
        memo="provider withdrew",
    )
    _post_money_event(
        contract,
        kind=Event.Kind.PAYMENT,
        body=f"Escrow of {format_amount(held, contract.currency)} returned to the buyer after "
        "the provider's withdrawal.",
        data={"event": "escrow_returned", "amount": held, "currency": contract.currency},
    )
    return held


def escrow_returns_run(*, now: datetime) -> int:
    """Payment protection: after a provider's withdrawal, tell the buyer when unreleased escrow
    returns (once), and return it when ``WITHDRAWAL_NOTICE_HOURS`` have passed."""
    window = timedelta(hours=settings.WITHDRAWAL_NOTICE_HOURS)
    withdrawn = Contract.objects.filter(
        state=Contract.State.ENDED, outcome=Contract.Outcome.WITHDRAWN
    ).select_related("engagement", "buyer")
    returned = 0
    for contract in withdrawn:
        escrow = account_of(Account.Kind.ESCROW, contract.currency, contract=contract)
        held = balance_of(escrow)
        if held <= 0:
            continue
        assert contract.ended_at is not None
        back_at = contract.ended_at + window
        if now < back_at:
            if not _noticed(contract, "escrow_return_notice"):
                when = timezone.localtime(back_at).strftime("%-d %B %Y %H:%M")
                _post_money_event(
                    contract,
                    kind=Event.Kind.SYSTEM,
                    body=f"The provider withdrew: the {format_amount(held, contract.currency)} "
                    f"in escrow returns to the buyer on {when}.",
                    data={"event": "escrow_return_notice", "at": back_at.isoformat()},
                )
            continue
        if _escrow_return(contract):
            returned += 1
    return returned
