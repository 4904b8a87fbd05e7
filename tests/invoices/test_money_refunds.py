"""Refunds of a paid invoice: partial, full in parts (the fee comes back exactly), never more
than paid and not yet refunded; by the provider or support staff, never by the buyer."""

from __future__ import annotations

import pytest

from invoices.models import Account, Entry, Invoice, LedgerTransaction
from invoices.services import invoice_pay, invoice_refund
from tests.invoices.snapshot import (
    balance,
    buyer_of,
    client_of,
    contract_of,
    error,
    escrow_of,
    fund,
    invoice_on,
    money_events,
    money_state,
    post,
    provider_of,
    support_of,
    transaction_sums,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(taxonomy: None) -> Invoice:
    """An invoice of 123.45 EUR, paid from escrow: 12.34 fee, 111.11 to the provider."""
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 12345)
    invoice = invoice_on(contract, 12345)
    return invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)


def balances(invoice: Invoice) -> dict[str, int]:
    contract = invoice.contract
    return {
        "escrow": escrow_of(contract),
        "provider": balance(Account.Kind.PROVIDER, user=contract.provider),
        "fees": balance(Account.Kind.FEES, user=None, contract=None),
        "refunds_out": balance(Account.Kind.REFUNDS_OUT, user=contract.buyer),
    }


def refund_legs(invoice: Invoice) -> list[list[tuple[str, int]]]:
    """Each refund's entries, as (account kind, amount)."""
    return [
        sorted(Entry.objects.filter(transaction=movement).values_list("account__kind", "amount"))
        for movement in LedgerTransaction.objects.filter(invoice=invoice, kind="refund").order_by(
            "pk"
        )
    ]


def test_a_paid_invoice_holds_fee_and_release(paid: Invoice) -> None:
    assert (paid.state, paid.fee, paid.refunded) == ("paid", 1234, 0)
    assert balances(paid) == {"escrow": 0, "provider": 11111, "fees": 1234, "refunds_out": 0}


def test_a_partial_refund_by_the_provider(paid: Invoice) -> None:
    # when the provider refunds 10.00
    answer = post(
        client_of(paid.contract.provider), f"/api/invoices/{paid.pk}/refund/", {"amount": 1000}, "r"
    )
    # then the invoice says so, the fee gives back its share (rounded down) and the chat shows it
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["state"], answer.json()["refunded"], answer.json()["fee"]) == (
        "paid",
        1000,
        1234,
    )
    assert refund_legs(paid) == [[("fees", -99), ("provider", -901), ("refunds_out", 1000)]]
    assert balances(paid) == {"escrow": 0, "provider": 10210, "fees": 1135, "refunds_out": 1000}
    assert money_events(paid.contract)[-1] == "refund"
    assert transaction_sums() == [0, 0, 0]


def test_a_full_refund_in_three_parts_returns_exactly_the_fee(paid: Invoice) -> None:
    # when the whole total is refunded in three parts that do not divide it evenly
    client = client_of(paid.contract.provider)
    for n, amount in enumerate((1000, 2345, 9000)):
        answer = post(client, f"/api/invoices/{paid.pk}/refund/", {"amount": amount}, f"r{n}")
        assert answer.status_code == 200, answer.json()
    # then each part gave back its share of the fee, and together the whole fee, to the cent
    assert refund_legs(paid) == [
        [("fees", -99), ("provider", -901), ("refunds_out", 1000)],
        [("fees", -235), ("provider", -2110), ("refunds_out", 2345)],
        [("fees", -900), ("provider", -8100), ("refunds_out", 9000)],
    ]
    assert balances(paid) == {"escrow": 0, "provider": 0, "fees": 0, "refunds_out": 12345}
    assert Invoice.objects.get(pk=paid.pk).refunded == 12345
    assert transaction_sums() == [0] * 5


def test_refunding_more_than_is_left_is_400_and_moves_nothing(paid: Invoice) -> None:
    # given 100.00 of 123.45 already refunded
    invoice_refund(user=paid.contract.provider, invoice_id=paid.pk, amount=10000)
    before = money_state()
    # when the provider asks to refund 23.46
    answer = post(
        client_of(paid.contract.provider), f"/api/invoices/{paid.pk}/refund/", {"amount": 2346}, "r"
    )
    # then
    assert (answer.status_code, answer.json()) == (
        400,
        error(
            "refund_too_large",
            "At most 23.45 EUR is left to refund.",
            {"amount": ["At most 2345."], "refundable": 2345},
        ),
    )
    assert money_state() == before


def test_nothing_is_left_to_refund_after_a_full_refund(paid: Invoice) -> None:
    invoice_refund(user=paid.contract.provider, invoice_id=paid.pk, amount=12345)
    before = money_state()
    answer = post(
        client_of(paid.contract.provider), f"/api/invoices/{paid.pk}/refund/", {"amount": 1}, "r"
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "refund_too_large")
    assert answer.json()["error"]["fields"]["refundable"] == 0
    assert money_state() == before


def test_support_staff_refund(paid: Invoice) -> None:
    # given a support staff member, no party to the contract
    staff = support_of()
    # when they refund 50.00
    answer = post(client_of(staff), f"/api/invoices/{paid.pk}/refund/", {"amount": 5000}, "r")
    # then
    assert (answer.status_code, answer.json()["refunded"]) == (200, 5000)
    assert refund_legs(paid) == [[("fees", -499), ("provider", -4501), ("refunds_out", 5000)]]
    event = paid.contract.engagement.conversation.events.filter(data__event="refund").get()
    assert (event.data["by"], event.data["amount"], event.data["refunded"]) == (
        staff.pk,
        5000,
        5000,
    )


def test_the_buyer_cannot_refund_to_themselves(paid: Invoice) -> None:
    before = money_state()
    answer = post(
        client_of(paid.contract.buyer), f"/api/invoices/{paid.pk}/refund/", {"amount": 100}, "r"
    )
    assert (answer.status_code, answer.json()) == (
        403,
        error("forbidden", "Only the provider or support refunds."),
    )
    assert money_state() == before
