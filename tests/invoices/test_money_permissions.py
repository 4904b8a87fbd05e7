"""Who may do what with money, endpoint by endpoint: anonymous requests are 401, strangers
learn nothing (404), the other party of the contract is told no (403), and a provider raises
invoices only with a verified e-mail address and phone number. Each refusal moves nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoices.models import Invoice
from invoices.services import invoice_pay
from tests.invoices.snapshot import (
    buyer_of,
    client_of,
    contract_of,
    error,
    fund,
    invoice_on,
    money_state,
    post,
    provider_of,
    support_of,
)

pytestmark = pytest.mark.django_db

NO_INVOICE = error("not_found", "No such invoice.")
NO_CONTRACT = error("not_found", "No such contract.")


@pytest.fixture
def deal(taxonomy: None) -> Any:
    """A contract with 500.00 EUR in escrow, an issued invoice and a paid one."""
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 60000)
    paid = invoice_on(contract, 10000)
    invoice_pay(buyer=contract.buyer, invoice_id=paid.pk)
    return contract, invoice_on(contract, 50000), paid


def requests_of(contract: Any, issued: Invoice, paid: Invoice) -> list[tuple[str, str, Any]]:
    """Every money endpoint, with a body it would accept from the right person."""
    conversation = contract.engagement.conversation_id
    item = {"description": "Logo", "amount": 100}
    return [
        ("get", f"/api/contracts/{contract.pk}/ledger/", None),
        ("get", f"/api/invoices/{issued.pk}/", None),
        (
            "post",
            f"/api/contracts/{contract.pk}/fund/",
            {"amount": 100, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        ),
        (
            "post",
            f"/api/conversations/{conversation}/invoices/",
            {"contract": contract.pk, "currency": "EUR", "items": [item]},
        ),
        ("post", f"/api/invoices/{issued.pk}/pay/", {"payment_method": "pm_sandbox_ok"}),
        ("post", f"/api/invoices/{issued.pk}/decline/", {"reason": "Not done."}),
        ("post", f"/api/invoices/{issued.pk}/cancel/", {}),
        ("post", f"/api/invoices/{paid.pk}/refund/", {"amount": 100}),
    ]


def send(client: Client, method: str, url: str, body: Any, key: str) -> Any:
    if method == "get":
        return client.get(url)
    return post(client, url, body, key)


def test_anonymous_requests_are_401_on_every_endpoint(deal: Any) -> None:
    # given
    contract, issued, paid = deal
    before = money_state()
    # when
    answers = [
        send(Client(), method, url, body, f"anon-{n}").status_code
        for n, (method, url, body) in enumerate(requests_of(contract, issued, paid))
    ]
    # then
    assert answers == [401] * 8
    assert money_state() == before


def test_strangers_are_told_nothing_exists_on_every_endpoint(deal: Any) -> None:
    # given a signed-in buyer and provider of another contract
    contract, issued, paid = deal
    other = contract_of(buyer_of("bob"), provider_of("pat"))
    before = money_state()
    for stranger in (other.buyer, other.provider):
        # when
        answers = [
            send(client_of(stranger), method, url, body, f"s-{stranger.pk}-{n}")
            for n, (method, url, body) in enumerate(requests_of(contract, issued, paid))
        ]
        # then every answer is a 404 that says no more than "no such thing"
        assert [(a.status_code, a.json()) for a in answers] == [
            (404, NO_CONTRACT),
            (404, NO_INVOICE),
            (404, NO_CONTRACT),
            (404, NO_CONTRACT),
            (404, NO_INVOICE),
            (404, NO_INVOICE),
            (404, NO_INVOICE),
            (404, NO_INVOICE),
        ]
    assert money_state() == before


@pytest.mark.parametrize(
    ("who", "action", "message"),
    [
        ("provider", "fund", "Only the contract's buyer funds it."),
        ("buyer", "raise", "Only the contract's provider invoices."),
        ("provider", "pay", "Only the contract's buyer pays invoices."),
        ("provider", "decline", "Only the contract's buyer declines."),
        ("buyer", "cancel", "Only the contract's provider cancels."),
        ("buyer", "refund", "Only the provider or support refunds."),
        ("support", "pay", "Only the contract's buyer pays invoices."),
        ("support", "decline", "Only the contract's buyer declines."),
        ("support", "cancel", "Only the contract's provider cancels."),
    ],
)
def test_the_wrong_party_is_403_and_nothing_moves(
    deal: Any, who: str, action: str, message: str
) -> None:
    # given
    contract, issued, paid = deal
    person = {"buyer": contract.buyer, "provider": contract.provider}.get(who) or support_of()
    index = {"fund": 2, "raise": 3, "pay": 4, "decline": 5, "cancel": 6, "refund": 7}[action]
    method, url, body = requests_of(contract, issued, paid)[index]
    before = money_state()
    # when
    answer = send(client_of(person), method, url, body, "wrong-party")
    # then
    assert (answer.status_code, answer.json()) == (403, error("forbidden", message))
    assert money_state() == before


def test_support_staff_see_an_invoice_but_not_the_contracts_ledger(deal: Any) -> None:
    # given
    contract, issued, _ = deal
    staff = client_of(support_of())
    # when
    invoice = staff.get(f"/api/invoices/{issued.pk}/")
    ledger = staff.get(f"/api/contracts/{contract.pk}/ledger/")
    # then
    assert (invoice.status_code, invoice.json()["id"], invoice.json()["state"]) == (
        200,
        issued.pk,
        "issued",
    )
    assert (ledger.status_code, ledger.json()) == (404, NO_CONTRACT)


@pytest.mark.parametrize(
    ("email", "phone"),
    [(False, False), (True, False), (False, True)],
    ids=["none", "email", "phone"],
)
def test_raising_an_invoice_needs_a_verified_email_and_phone(
    taxonomy: None, email: bool, phone: bool
) -> None:
    # given a provider missing one or both verifications
    contract = contract_of(buyer_of("bea"), provider_of("pia", email=email, phone=phone))
    before = money_state()
    # when
    answer = post(
        client_of(contract.provider),
        f"/api/conversations/{contract.engagement.conversation_id}/invoices/",
        {"contract": contract.pk, "currency": "EUR", "items": [{"description": "x", "amount": 1}]},
        "raise",
    )
    # then
    assert (answer.status_code, answer.json()) == (
        403,
        error(
            "verification_required",
            "Verify your e-mail address and phone number before raising invoices.",
            {"email": email, "phone": phone},
        ),
    )
    assert money_state() == before
    assert not Invoice.objects.exists()


def test_a_verified_provider_raises_an_invoice_in_the_contracts_chat(taxonomy: None) -> None:
    # given
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    conversation = contract.engagement.conversation_id
    # when
    answer = post(
        client_of(contract.provider),
        f"/api/conversations/{conversation}/invoices/",
        {
            "contract": contract.pk,
            "currency": "EUR",
            "items": [
                {"description": "Logo", "amount": 40000},
                {"description": "Fonts", "amount": 2550},
            ],
            "note": "Thanks!",
        },
        "raise",
    )
    # then
    assert answer.status_code == 201, answer.json()
    invoice = Invoice.objects.get()
    assert {k: answer.json()[k] for k in ("id", "state", "total", "currency", "items", "note")} == {
        "id": invoice.pk,
        "state": "issued",
        "total": 42550,
        "currency": "EUR",
        "items": [
            {"description": "Logo", "amount": 40000},
            {"description": "Fonts", "amount": 2550},
        ],
        "note": "Thanks!",
    }
    assert answer.json()["conversation"] == str(conversation)


def test_an_invoice_raised_in_another_conversation_is_refused(deal: Any) -> None:
    # given the provider's other contract, in another chat
    contract, _, _ = deal
    elsewhere = contract_of(buyer_of("bob"), contract.provider)
    before = money_state()
    # when the provider raises an invoice of the first contract in the second's chat
    answer = post(
        client_of(contract.provider),
        f"/api/conversations/{elsewhere.engagement.conversation_id}/invoices/",
        {"contract": contract.pk, "currency": "EUR", "items": [{"description": "x", "amount": 1}]},
        "raise",
    )
    # then
    assert (answer.status_code, answer.json()) == (
        400,
        error(
            "invalid",
            "The request is not valid.",
            {"contract": ["This contract belongs to another conversation."]},
        ),
    )
    assert money_state() == before
