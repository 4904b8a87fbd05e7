"""The money rules at the service and API edges: refused payment methods, confirmations
delivered again and out of order, idempotency keys, bad input, and the append-only ledger.
Every refusal is checked to have moved nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.test import Client

from chatbox.models import Event
from invoices.gateway import Confirmation, SandboxGateway
from invoices.models import Entry, GatewayOperation, IdempotentRequest, Invoice, LedgerTransaction
from invoices.services import (
    confirmation_apply,
    invoice_cancel,
)
from tests.invoices.snapshot import fund, invoice_on
from tests.invoices.test_money_flow import contract_between, money, verified_provider
from tests.projects.market import buyer, client_of, provider

pytestmark = pytest.mark.django_db


def moved() -> tuple[int, int, int, int]:
    """What money and its record hold: ledger transactions, entries, operations, chat events."""
    return (
        LedgerTransaction.objects.count(),
        Entry.objects.count(),
        GatewayOperation.objects.filter(state="succeeded").count(),
        Event.objects.filter(kind__in=["invoice", "payment"]).count(),
    )


@pytest.fixture
def deal(taxonomy: None) -> Any:
    bea, pia = buyer("bea"), verified_provider()
    return bea, pia, contract_between(bea, pia)


@pytest.mark.parametrize(
    ("method", "status", "code"),
    [
        ("pm_sandbox_declined", 402, "payment_declined"),
        ("pm_sandbox_insufficient", 402, "insufficient_funds"),
        ("pm_unknown", 400, "invalid"),
    ],
)
def test_a_refused_payment_method_moves_nothing(
    deal: Any, method: str, status: int, code: str
) -> None:
    bea, _, contract = deal
    before = moved()
    response = money(
        client_of(bea),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 10000, "currency": "EUR", "payment_method": method},
        "k1",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert moved() == before


def test_a_confirmation_delivered_five_times_out_of_order_counts_once(deal: Any) -> None:
    # given two funded charges, and the confirmations the gateway sent for them
    _, _, contract = deal
    fund(contract, 10000)
    fund(contract, 2500)
    gateway = SandboxGateway()
    confirmations: list[Confirmation] = [
        gateway.charge(
            key=op.idempotency_key,
            payment_method=op.payment_method,
            amount=op.amount,
            currency=op.currency,
        )
        for op in GatewayOperation.objects.all()
    ]
    before = moved()
    # when each is delivered five more times, shuffled
    deliveries = confirmations * 5
    random.Random(7).shuffle(deliveries)
    for confirmation in deliveries:
        confirmation_apply(confirmation=confirmation)
    # then nothing more moved: escrow holds what was funded once
    assert moved() == before
    escrow = Entry.objects.filter(account__kind="escrow").values_list("amount", flat=True)
    assert sum(escrow) == 12500


def test_a_confirmation_of_an_unknown_operation_changes_nothing(deal: Any) -> None:
    before = moved()
    stray = Confirmation(event_id="evt_x", operation="nobody", succeeded=True, reference="ch_x")
    assert confirmation_apply(confirmation=stray) is None
    assert moved() == before


def test_every_money_request_needs_an_idempotency_key(deal: Any) -> None:
    bea, _, contract = deal
    before = moved()
    response = client_of(bea).post(
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 10000, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "idempotency_key_required",
    )
    assert moved() == before


def test_a_key_reused_for_another_request_is_409_and_moves_nothing(deal: Any) -> None:
    bea, _, contract = deal
    client = client_of(bea)
    url = f"/api/contracts/{contract.pk}/fund/"
    body = {"amount": 10000, "currency": "EUR", "payment_method": "pm_sandbox_ok"}
    assert money(client, url, body, "same").status_code == 200
    before = moved()
    again = money(client, url, {**body, "amount": 20000}, "same")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert moved() == before
    assert IdempotentRequest.objects.count() == 1


def test_a_replayed_refusal_is_the_same_refusal(deal: Any) -> None:
    bea, _, contract = deal
    client = client_of(bea)
    url = f"/api/contracts/{contract.pk}/fund/"
    body = {"amount": 10000, "currency": "EUR", "payment_method": "pm_sandbox_declined"}
    first = money(client, url, body, "declined-once")
    second = money(client, url, body, "declined-once")
    assert first.status_code == second.status_code == 402
    assert first.json() == second.json()
    assert GatewayOperation.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": -100, "currency": "EUR"}, "amount"),
        ({"amount": 0, "currency": "EUR"}, "amount"),
        ({"amount": 12.5, "currency": "EUR"}, "amount"),
        ({"amount": 100, "currency": "XYZ"}, "currency"),
        ({"amount": 100, "currency": "USD"}, "currency"),
    ],
)
def test_bad_amounts_and_currencies_are_refused(
    deal: Any, body: dict[str, Any], field: str
) -> None:
    bea, _, contract = deal
    before = moved()
    response = money(
        client_of(bea),
        f"/api/contracts/{contract.pk}/fund/",
        {**body, "payment_method": "pm_sandbox_ok"},
        "bad",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]
    assert moved() == before


def test_paying_a_cancelled_invoice_is_409_and_moves_nothing(deal: Any) -> None:
    bea, pia, contract = deal
    fund(contract, 50000)
    invoice = invoice_on(contract, 50000)
    invoice_cancel(provider=pia, invoice_id=invoice.pk)
    before = moved()
    response = money(client_of(bea), f"/api/invoices/{invoice.pk}/pay/", {}, "pay")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invoice_not_issued")
    assert moved() == before
    assert Invoice.objects.get().state == "cancelled"


def test_refunding_more_than_paid_is_refused(deal: Any) -> None:
    bea, pia, contract = deal
    fund(contract, 50000)
    invoice = invoice_on(contract, 50000)
    assert money(client_of(bea), f"/api/invoices/{invoice.pk}/pay/", {}, "pay").status_code == 200
    before = moved()
    response = money(client_of(pia), f"/api/invoices/{invoice.pk}/refund/", {"amount": 50001}, "r")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "refund_too_large")
    assert moved() == before


def test_someone_elses_invoice_is_not_found(deal: Any) -> None:
    _, _, contract = deal
    invoice = invoice_on(contract, 50000)
    stranger = client_of(buyer("bob"))
    before = moved()
    for action, body in (("pay", {}), ("decline", {"reason": "no"}), ("refund", {"amount": 1})):
        response = money(stranger, f"/api/invoices/{invoice.pk}/{action}/", body, action)
        assert response.status_code == 404, action
    assert stranger.get(f"/api/invoices/{invoice.pk}/").status_code == 404
    assert moved() == before


def test_an_unverified_provider_cannot_invoice(deal: Any) -> None:
    bea, _, _ = deal
    pia = provider("pat")
    contract = contract_between(bea, pia)
    before = moved()
    response = money(
        client_of(pia),
        f"/api/conversations/{contract.engagement.conversation_id}/invoices/",
        {"contract": contract.pk, "currency": "EUR", "items": [{"description": "x", "amount": 1}]},
        "inv",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (
        403,
        "verification_required",
    )
    assert moved() == before


def test_ledger_entries_are_never_changed_or_deleted(deal: Any) -> None:
    _, _, contract = deal
    fund(contract, 10000)
    entry = Entry.objects.first()
    assert entry is not None
    entry.amount = 1
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    assert sorted(Entry.objects.values_list("amount", flat=True)) == [-10000, 10000]


def test_an_anonymous_money_request_is_401(deal: Any) -> None:
    _, _, contract = deal
    response = money(Client(), f"/api/contracts/{contract.pk}/fund/", {}, "k")
    assert response.status_code == 401


def test_a_declined_shortfall_charge_does_not_block_a_good_card(deal: Any) -> None:
    # given an invoice with nothing in escrow, and a first payment with a declined card
    bea, _, contract = deal
    invoice = invoice_on(contract, 50000)
    client = client_of(bea)
    url = f"/api/invoices/{invoice.pk}/pay/"
    declined = money(client, url, {"payment_method": "pm_sandbox_declined"}, "pay-1")
    assert (declined.status_code, declined.json()["error"]["code"]) == (402, "payment_declined")
    # when the buyer pays with a good card
    paid = money(client, url, {"payment_method": "pm_sandbox_ok"}, "pay-2")
    # then it is paid, and the shortfall was charged once
    assert (paid.status_code, paid.json()["state"]) == (200, "paid")
    assert list(
        GatewayOperation.objects.order_by("created_at").values_list("state", flat=True)
    ) == [
        "failed",
        "succeeded",
    ]
