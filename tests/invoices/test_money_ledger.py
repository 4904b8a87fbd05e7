"""The ledger: entries and transactions are never changed or deleted, every transaction sums
to zero (an unbalanced one is refused before anything is written), and escrow never goes
below zero. The contract's statement is derived from the entries."""

from __future__ import annotations

from typing import Any

import pytest

from invoices.models import Account, Entry, LedgerTransaction
from invoices.services import account_of, invoice_pay, invoice_refund, ledger_post
from tests.invoices.snapshot import (
    buyer_of,
    client_of,
    contract_of,
    error,
    escrow_of,
    fund,
    invoice_on,
    money_state,
    post,
    provider_of,
    transaction_sums,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(taxonomy: None) -> Any:
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 30000)
    return contract


def test_entries_and_transactions_are_never_changed_or_deleted(contract: Any) -> None:
    # given the funding's entries
    entry = Entry.objects.get(account__kind="escrow")
    movement = entry.transaction
    before = money_state()
    # when anyone tries to change or delete them
    entry.amount = 1
    with pytest.raises(TypeError, match="Entry rows are never changed: add a reversal"):
        entry.save()
    with pytest.raises(TypeError, match="Entry rows are never deleted"):
        entry.delete()
    movement.memo = "edited"
    with pytest.raises(TypeError, match="LedgerTransaction rows are never changed"):
        movement.save()
    with pytest.raises(TypeError, match="LedgerTransaction rows are never deleted"):
        movement.delete()
    # then nothing changed
    assert money_state() == before


def test_an_unbalanced_or_fractional_transaction_is_refused_before_anything_is_written(
    contract: Any,
) -> None:
    escrow = account_of(Account.Kind.ESCROW, "EUR", contract=contract)
    fees = account_of(Account.Kind.FEES, "EUR")
    before = money_state()
    with pytest.raises(ValueError, match="unbalanced ledger transaction release"):
        ledger_post("release", contract=contract, legs=[(escrow, -100), (fees, 99)])
    with pytest.raises(TypeError, match="integers of minor units"):
        ledger_post("release", contract=contract, legs=[(escrow, -0.5), (fees, 0.5)])  # type: ignore[list-item]
    assert money_state() == before


def test_every_transaction_of_a_whole_deal_sums_to_zero(contract: Any) -> None:
    # given funding, a payment with a shortfall charged, and a refund
    invoice = invoice_on(contract, 45000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk, payment_method="pm_sandbox_ok")
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=5000)
    # then
    assert list(LedgerTransaction.objects.order_by("pk").values_list("kind", flat=True)) == [
        "funding",
        "funding",
        "release",
        "refund",
    ]
    assert transaction_sums() == [0, 0, 0, 0]
    assert all(type(amount) is int for amount in Entry.objects.values_list("amount", flat=True))


def test_escrow_never_pays_more_than_it_holds(contract: Any) -> None:
    # given 300.00 in escrow and two invoices of 200.00
    first, second = invoice_on(contract, 20000), invoice_on(contract, 20000)
    invoice_pay(buyer=contract.buyer, invoice_id=first.pk)
    before = money_state()
    # when the buyer confirms the second without a payment method
    answer = post(client_of(contract.buyer), f"/api/invoices/{second.pk}/pay/", {}, "pay")
    # then it is refused with what is missing, and escrow keeps its 100.00
    assert (answer.status_code, answer.json()) == (
        409,
        error(
            "escrow_insufficient",
            "Escrow holds 100.00 EUR: give a payment method for the rest.",
            {"shortfall": 10000, "payment_method": ["Required for the shortfall."]},
        ),
    )
    assert money_state() == before
    assert escrow_of(contract) == 10000


def test_the_contracts_statement_is_its_entries(contract: Any) -> None:
    # given a payment of 200.00 and a refund of 50.00
    invoice = invoice_on(contract, 20000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=5000)
    # when each party reads the contract's ledger
    answers = [
        client_of(party).get(f"/api/contracts/{contract.pk}/ledger/")
        for party in (contract.buyer, contract.provider)
    ]
    # then both see the balances and every entry
    statement = answers[0].json()
    assert answers[1].json() == statement
    assert statement["currency"] == "EUR"
    assert statement["balances"] == {
        "escrow": 10000,
        "provider": 18000 - 4500,
        "fees": 2000 - 500,
        "refunded": 5000,
    }
    assert [(e["kind"], e["account"], e["amount"], e["invoice"]) for e in statement["entries"]] == [
        ("funding", "payments_in", -30000, None),
        ("funding", "escrow", 30000, None),
        ("release", "escrow", -20000, invoice.pk),
        ("release", "provider", 18000, invoice.pk),
        ("release", "fees", 2000, invoice.pk),
        ("refund", "provider", -4500, invoice.pk),
        ("refund", "fees", -500, invoice.pk),
        ("refund", "refunds_out", 5000, invoice.pk),
    ]
