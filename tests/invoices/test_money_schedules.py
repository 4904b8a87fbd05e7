"""Money on a schedule: a reminder before an invoice is paid automatically, the auto-release
itself, and escrow returned after a provider's withdrawal. Each runs twice to show it acts
once; times are explicit."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from chatbox.models import Event
from invoices.models import Entry, Invoice, LedgerTransaction
from invoices.schedules import escrow_returns_run, invoices_auto_release, invoices_remind
from invoices.services import LineItem, escrow_fund, invoice_decline, invoice_raise
from projects.contracts import contract_end
from tests.invoices.test_money_flow import contract_between, verified_provider
from tests.projects.market import buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(taxonomy: None) -> Any:
    bea, pia = buyer("bea"), verified_provider()
    contract = contract_between(bea, pia)
    escrow_fund(
        buyer=bea,
        contract_id=contract.pk,
        amount=50000,
        currency="EUR",
        payment_method="pm_sandbox_ok",
    )
    return bea, pia, contract


def _events(contract: Any, event: str) -> int:
    return Event.objects.filter(
        conversation_id=contract.engagement.conversation_id, data__event=event
    ).count()


def _invoice(pia: Any, contract: Any, amount: int = 50000) -> Invoice:
    return invoice_raise(
        provider=pia, contract_id=contract.pk, currency="EUR", items=[LineItem("Logo", amount)]
    )


def test_the_buyer_is_reminded_once_before_the_due_date(
    deal: Any, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    bea, pia, contract = deal
    bea.email = "bea@example.com"
    bea.save(update_fields=["email"])
    invoice = _invoice(pia, contract)
    early = invoice.due_at - timedelta(days=4)
    assert invoices_remind(now=early) == 0
    # when the reminder window opens, and the schedule runs twice
    on_time = invoice.due_at - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_remind(now=on_time) == 1
        assert invoices_remind(now=on_time) == 0
    # then one reminder in the chat, one e-mail to the buyer
    assert _events(contract, "invoice_reminder") == 1
    assert [mail.to for mail in mailoutbox] == [["bea@example.com"]]


def test_an_unanswered_invoice_is_paid_once_after_the_window(deal: Any) -> None:
    _, pia, contract = deal
    invoice = _invoice(pia, contract)
    assert invoices_auto_release(now=invoice.due_at - timedelta(seconds=1)) == 0
    assert Invoice.objects.get().state == "issued"
    assert invoices_auto_release(now=invoice.due_at) == 1
    assert invoices_auto_release(now=invoice.due_at) == 0
    paid = Invoice.objects.get()
    assert (paid.state, paid.fee) == ("paid", 5000)
    assert LedgerTransaction.objects.filter(kind="release").count() == 1
    automatic = Event.objects.get(data__event="invoice_paid")
    assert automatic.data["automatic"] is True


def test_a_declined_invoice_is_never_paid_automatically(deal: Any) -> None:
    bea, pia, contract = deal
    invoice = _invoice(pia, contract)
    invoice_decline(buyer=bea, invoice_id=invoice.pk, reason="Not delivered.")
    assert invoices_auto_release(now=invoice.due_at + timedelta(days=1)) == 0
    assert Invoice.objects.get().state == "declined"
    assert not LedgerTransaction.objects.filter(kind="release").exists()


def test_escrow_short_of_a_due_invoice_charges_nobody_and_says_so_once(deal: Any) -> None:
    _, pia, contract = deal
    invoice = _invoice(pia, contract, amount=80000)
    charges = LedgerTransaction.objects.count()
    for _ in range(2):
        assert invoices_auto_release(now=invoice.due_at) == 0
    assert Invoice.objects.get().state == "issued"
    assert LedgerTransaction.objects.count() == charges
    assert _events(contract, "auto_release_short") == 1


def test_escrow_returns_to_the_buyer_after_a_withdrawal_once(deal: Any) -> None:
    # given the provider withdrew with 500.00 EUR in escrow
    _, pia, contract = deal
    ended = contract_end(user=pia, contract_id=contract.pk, outcome="withdrawn")
    assert ended.ended_at is not None
    # when the schedule runs during the notice window: a notice, once, and nothing moves
    during = ended.ended_at + timedelta(hours=71)
    assert escrow_returns_run(now=during) == 0
    assert escrow_returns_run(now=during) == 0
    assert _events(contract, "escrow_return_notice") == 1
    assert not LedgerTransaction.objects.filter(kind="escrow_return").exists()
    # and after it, twice
    after = ended.ended_at + timedelta(hours=72)
    assert escrow_returns_run(now=after) == 1
    assert escrow_returns_run(now=after) == 0
    # then escrow is empty and the buyer got it back, once
    escrow = Entry.objects.filter(account__kind="escrow").values_list("amount", flat=True)
    assert sum(escrow) == 0
    back = Entry.objects.filter(account__kind="refunds_out").values_list("amount", flat=True)
    assert list(back) == [50000]
    assert _events(contract, "escrow_returned") == 1


def test_the_command_runs_every_schedule(deal: Any) -> None:
    out = StringIO()
    call_command("run_money_schedules", stdout=out)
    assert out.getvalue().strip() == (
        "0 invoices reminded, 0 paid automatically, escrow returned on 0 contracts."
    )
