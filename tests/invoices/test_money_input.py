"""Bad input to every money endpoint, and the ``Idempotency-Key`` contract (PROTOCOL.md §2).

Each bad request is a clear 4xx that names what is wrong, and moves nothing: no ledger
transaction or entry, no gateway operation, no chat event, no change to an invoice."""

from __future__ import annotations

from typing import Any

import pytest

from invoices.models import AMOUNT_MAX, IdempotentRequest, Invoice, LedgerTransaction
from invoices.services import invoice_cancel, invoice_decline, invoice_pay
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
)

pytestmark = pytest.mark.django_db

INVALID = "The request is not valid."
POSITIVE = ["Ensure this value is greater than or equal to 1."]
NOT_AN_AMOUNT = ["Give a whole number of minor units (cents), not a decimal or a string."]


@pytest.fixture
def deal(taxonomy: None) -> Any:
    """A contract with 500.00 EUR in escrow and an issued invoice of 200.00 EUR."""
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 50000)
    return contract, invoice_on(contract, 20000)


def assert_refused(answer: Any, status: int, body: dict[str, Any], before: Any) -> None:
    assert (answer.status_code, answer.json()) == (status, body)
    assert money_state() == before


# -- amounts and currencies ------------------------------------------------------------------

BAD_AMOUNTS = [
    (-100, POSITIVE),
    (0, POSITIVE),
    (12.5, NOT_AN_AMOUNT),
    (100.0, NOT_AN_AMOUNT),
    ("100", NOT_AN_AMOUNT),
    (True, NOT_AN_AMOUNT),
    (None, ["This field may not be null."]),
    (AMOUNT_MAX + 1, [f"Ensure this value is less than or equal to {AMOUNT_MAX}."]),
]


@pytest.mark.parametrize(("amount", "message"), BAD_AMOUNTS)
def test_funding_refuses_an_amount_that_is_not_a_positive_integer(
    deal: Any, amount: Any, message: list[str]
) -> None:
    # given
    contract, _ = deal
    before = money_state()
    # when
    answer = post(
        client_of(contract.buyer),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": amount, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        "fund",
    )
    # then
    assert_refused(answer, 400, error("invalid", INVALID, {"amount": message}), before)


@pytest.mark.parametrize(
    ("currency", "message"),
    [
        ("XYZ", "Use an ISO 4217 currency code, such as EUR."),
        ("eur", "Use an ISO 4217 currency code, such as EUR."),
        ("USD", "This contract is in EUR."),
    ],
)
def test_funding_refuses_an_unknown_or_other_currency(
    deal: Any, currency: str, message: str
) -> None:
    contract, _ = deal
    before = money_state()
    answer = post(
        client_of(contract.buyer),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 100, "currency": currency, "payment_method": "pm_sandbox_ok"},
        "fund",
    )
    assert_refused(answer, 400, error("invalid", INVALID, {"currency": [message]}), before)


def test_funding_refuses_a_missing_payment_method_and_currency(deal: Any) -> None:
    contract, _ = deal
    before = money_state()
    answer = post(
        client_of(contract.buyer), f"/api/contracts/{contract.pk}/fund/", {"amount": 100}, "fund"
    )
    required = ["This field is required."]
    assert_refused(
        answer,
        400,
        error("invalid", INVALID, {"currency": required, "payment_method": required}),
        before,
    )


def raise_body(contract: Any, **changes: Any) -> dict[str, Any]:
    return {
        "contract": contract.pk,
        "currency": "EUR",
        "items": [{"description": "Logo", "amount": 100}],
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"items": []}, {"items": ["Ensure this field has at least 1 elements."]}),
        (
            {"items": [{"description": "Logo", "amount": -1}]},
            {"items": {"0": {"amount": POSITIVE}}},
        ),
        ({"items": [{"description": "Logo", "amount": 0}]}, {"items": {"0": {"amount": POSITIVE}}}),
        (
            {"items": [{"description": "Logo", "amount": 1.5}]},
            {"items": {"0": {"amount": NOT_AN_AMOUNT}}},
        ),
        (
            {"items": [{"description": "Logo", "amount": "1"}]},
            {"items": {"0": {"amount": NOT_AN_AMOUNT}}},
        ),
        (
            {"items": [{"description": " ", "amount": 1}]},
            {"items": {"0": {"description": ["This field may not be blank."]}}},
        ),
        (
            {
                "items": [
                    {"description": "A", "amount": AMOUNT_MAX},
                    {"description": "B", "amount": 1},
                ]
            },
            {"items": ["The total is too large."]},
        ),
        ({"currency": "XYZ"}, {"currency": ["This contract is in EUR."]}),
        ({"currency": "USD"}, {"currency": ["This contract is in EUR."]}),
        ({"milestone": 999999}, {"milestone": ["No such milestone on this contract."]}),
        ({"note": "x" * 2001}, {"note": ["Ensure this field has no more than 2000 characters."]}),
    ],
)
def test_raising_an_invoice_refuses_bad_lines_currencies_and_milestones(
    deal: Any, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    contract, _ = deal
    before = money_state()
    answer = post(
        client_of(contract.provider),
        f"/api/conversations/{contract.engagement.conversation_id}/invoices/",
        raise_body(contract, **changes),
        "raise",
    )
    assert_refused(answer, 400, error("invalid", INVALID, fields), before)


def test_refunds_refuse_amounts_that_are_not_positive_integers(deal: Any) -> None:
    # given a paid invoice
    contract, invoice = deal
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    client = client_of(contract.provider)
    before = money_state()
    for n, (amount, message) in enumerate(BAD_AMOUNTS):
        # when
        answer = post(client, f"/api/invoices/{invoice.pk}/refund/", {"amount": amount}, f"r{n}")
        # then
        assert_refused(answer, 400, error("invalid", INVALID, {"amount": message}), before)


def test_a_decline_needs_a_reason(deal: Any) -> None:
    contract, invoice = deal
    client = client_of(contract.buyer)
    before = money_state()
    url = f"/api/invoices/{invoice.pk}/decline/"
    assert_refused(
        post(client, url, {}, "d1"),
        400,
        error("invalid", INVALID, {"reason": ["This field is required."]}),
        before,
    )
    assert_refused(
        post(client, url, {"reason": "   "}, "d2"),
        400,
        error("invalid", INVALID, {"reason": ["This field may not be blank."]}),
        before,
    )


# -- invoices that are not in the state an action needs ------------------------------------


def test_paying_a_cancelled_or_declined_or_paid_or_disputed_invoice_is_409(deal: Any) -> None:
    # given four invoices that are no longer issued
    contract, paid = deal
    invoice_pay(buyer=contract.buyer, invoice_id=paid.pk)
    cancelled = invoice_cancel(provider=contract.provider, invoice_id=invoice_on(contract, 1).pk)
    declined = invoice_decline(
        buyer=contract.buyer, invoice_id=invoice_on(contract, 1).pk, reason="No."
    )
    disputed = invoice_on(contract, 1)
    Invoice.objects.filter(pk=disputed.pk).update(state=Invoice.State.DISPUTED)
    client = client_of(contract.buyer)
    before = money_state()
    for invoice, state in (
        (paid, "paid"),
        (cancelled, "cancelled"),
        (declined, "declined"),
        (disputed, "disputed"),
    ):
        for action, body in (
            ("pay", {"payment_method": "pm_sandbox_ok"}),
            ("decline", {"reason": "x"}),
        ):
            # when
            answer = post(
                client, f"/api/invoices/{invoice.pk}/{action}/", body, f"{action}-{state}"
            )
            # then
            assert_refused(
                answer,
                409,
                error("invoice_not_issued", f"This invoice is {state}.", {"state": state}),
                before,
            )
        answer = post(
            client_of(contract.provider), f"/api/invoices/{invoice.pk}/cancel/", {}, state
        )
        assert_refused(
            answer,
            409,
            error("invoice_not_issued", f"This invoice is {state}.", {"state": state}),
            before,
        )


def test_refunding_an_invoice_that_is_not_paid_is_409(deal: Any) -> None:
    contract, invoice = deal
    before = money_state()
    answer = post(
        client_of(contract.provider), f"/api/invoices/{invoice.pk}/refund/", {"amount": 1}, "r"
    )
    assert_refused(
        answer,
        409,
        error("invoice_not_paid", "Only a paid invoice is refunded.", {"state": "issued"}),
        before,
    )


def test_paying_more_than_escrow_without_a_payment_method_is_409(deal: Any) -> None:
    # given 500.00 in escrow and an invoice of 600.00
    contract, _ = deal
    invoice = invoice_on(contract, 60000)
    before = money_state()
    # when
    answer = post(client_of(contract.buyer), f"/api/invoices/{invoice.pk}/pay/", {}, "pay")
    # then
    assert_refused(
        answer,
        409,
        error(
            "escrow_insufficient",
            "Escrow holds 500.00 EUR: give a payment method for the rest.",
            {"shortfall": 10000, "payment_method": ["Required for the shortfall."]},
        ),
        before,
    )
    assert escrow_of(contract) == 50000


def test_paying_with_an_unknown_payment_method_is_400_even_when_escrow_covers_it(
    deal: Any,
) -> None:
    contract, invoice = deal
    before = money_state()
    answer = post(
        client_of(contract.buyer),
        f"/api/invoices/{invoice.pk}/pay/",
        {"payment_method": "pm_nobody"},
        "pay",
    )
    assert_refused(
        answer,
        400,
        error("invalid", INVALID, {"payment_method": ["Unknown payment method."]}),
        before,
    )


# -- Idempotency-Key -----------------------------------------------------------------------


def unsafe_requests(contract: Any, invoice: Invoice) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            f"/api/contracts/{contract.pk}/fund/",
            {"amount": 100, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        ),
        (
            f"/api/conversations/{contract.engagement.conversation_id}/invoices/",
            raise_body(contract),
        ),
        (f"/api/invoices/{invoice.pk}/pay/", {}),
        (f"/api/invoices/{invoice.pk}/decline/", {"reason": "No."}),
        (f"/api/invoices/{invoice.pk}/cancel/", {}),
        (f"/api/invoices/{invoice.pk}/refund/", {"amount": 100}),
    ]


@pytest.mark.parametrize(
    "key", [None, "", "   ", "k" * 256], ids=["missing", "empty", "blank", "oversized"]
)
def test_every_unsafe_money_request_needs_a_key_of_at_most_255_characters(
    deal: Any, key: str | None
) -> None:
    contract, invoice = deal
    before = money_state()
    for url, body in unsafe_requests(contract, invoice):
        client = client_of(
            contract.provider if "invoices" in url or "refund" in url else contract.buyer
        )
        answer = post(client, url, body, key)
        assert_refused(
            answer,
            400,
            error(
                "idempotency_key_required",
                "Send an Idempotency-Key header (at most 255 characters) with every money request.",
                {"Idempotency-Key": ["Required."]},
            ),
            before,
        )
    assert not IdempotentRequest.objects.exists()


def test_a_key_of_255_characters_is_accepted(deal: Any) -> None:
    contract, invoice = deal
    answer = post(client_of(contract.buyer), f"/api/invoices/{invoice.pk}/pay/", {}, "k" * 255)
    assert (answer.status_code, answer.json()["state"]) == (200, "paid")


def test_a_replay_gets_the_first_answer_and_moves_nothing(deal: Any) -> None:
    # given a payment made under a key
    contract, invoice = deal
    client = client_of(contract.buyer)
    url = f"/api/invoices/{invoice.pk}/pay/"
    first = post(client, url, {}, "pay-1")
    assert first.status_code == 200
    before = money_state()
    # when the same request is sent again, twice
    replays = [post(client, url, {}, "pay-1") for _ in range(2)]
    # then each gets the first answer, marked as a replay, and nothing moved
    for replay in replays:
        assert (replay.status_code, replay.json()) == (200, first.json())
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert money_state() == before
    assert list(IdempotentRequest.objects.values_list("key", "status")) == [("pay-1", 200)]


def test_a_replayed_funding_charges_once(deal: Any) -> None:
    contract, _ = deal
    client = client_of(contract.buyer)
    url = f"/api/contracts/{contract.pk}/fund/"
    body = {"amount": 2500, "currency": "EUR", "payment_method": "pm_sandbox_ok"}
    answers = [post(client, url, body, "fund-1") for _ in range(3)]
    assert [(a.status_code, a.json()["escrow"]) for a in answers] == [(200, 52500)] * 3
    assert escrow_of(contract) == 52500
    assert LedgerTransaction.objects.filter(kind="funding").count() == 2


def test_the_same_key_with_another_body_or_endpoint_is_409(deal: Any) -> None:
    # given a funding under a key
    contract, invoice = deal
    client = client_of(contract.buyer)
    url = f"/api/contracts/{contract.pk}/fund/"
    body = {"amount": 100, "currency": "EUR", "payment_method": "pm_sandbox_ok"}
    assert post(client, url, body, "key").status_code == 200
    before = money_state()
    reused = error(
        "idempotency_key_reused",
        "This Idempotency-Key was used for another request.",
        {"Idempotency-Key": ["key"]},
    )
    # when the key comes again with another amount, and on another endpoint
    # then both are refused, and nothing moved
    assert_refused(post(client, url, {**body, "amount": 200}, "key"), 409, reused, before)
    assert_refused(post(client, f"/api/invoices/{invoice.pk}/pay/", {}, "key"), 409, reused, before)
    assert IdempotentRequest.objects.count() == 1


def test_keys_belong_to_their_requester(deal: Any) -> None:
    # given the buyer used a key
    contract, invoice = deal
    assert (
        post(client_of(contract.buyer), f"/api/invoices/{invoice.pk}/pay/", {}, "k").status_code
        == 200
    )
    # when the provider uses the same key for its own request
    answer = post(
        client_of(contract.provider), f"/api/invoices/{invoice.pk}/refund/", {"amount": 100}, "k"
    )
    # then it is the provider's own request, not a replay of the buyer's
    assert (answer.status_code, answer.json()["refunded"]) == (200, 100)
    assert sorted(IdempotentRequest.objects.values_list("user", "key")) == sorted(
        [(contract.buyer.pk, "k"), (contract.provider.pk, "k")]
    )


def test_a_replayed_refusal_is_the_same_refusal_even_after_the_state_changed(deal: Any) -> None:
    # given a payment refused for want of escrow
    contract, _ = deal
    invoice = invoice_on(contract, 60000)
    client = client_of(contract.buyer)
    url = f"/api/invoices/{invoice.pk}/pay/"
    first = post(client, url, {}, "pay")
    assert first.status_code == 409
    # when the escrow is topped up, and the same request is replayed
    fund(contract, 10000)
    before = money_state()
    again = post(client, url, {}, "pay")
    # then the replay is the first answer: the invoice is not paid by a replay
    assert (again.status_code, again.json()) == (409, first.json())
    assert money_state() == before
    assert Invoice.objects.get(pk=invoice.pk).state == "issued"


def test_a_replayed_validation_error_is_stored_and_the_key_stays_taken(deal: Any) -> None:
    # given a funding refused as malformed
    contract, _ = deal
    client = client_of(contract.buyer)
    url = f"/api/contracts/{contract.pk}/fund/"
    bad = {"amount": -1, "currency": "EUR", "payment_method": "pm_sandbox_ok"}
    first = post(client, url, bad, "fund")
    assert first.status_code == 400
    before = money_state()
    # when it is replayed, and then the key is reused with a good body
    again = post(client, url, bad, "fund")
    other = post(client, url, {**bad, "amount": 100}, "fund")
    # then the replay is the same refusal, and the reuse is refused: nothing moved
    assert (again.status_code, again.json()) == (400, first.json())
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert money_state() == before
    assert list(IdempotentRequest.objects.values_list("key", "status")) == [("fund", 400)]
