"""The payment gateway: refused payment methods move nothing; confirmations delivered again
and out of order count once; and the outbound operation is stored, and committed, before the
gateway is called.

That last one is shown with ``RecordingGateway``, a second implementation of the gateway
interface configured through ``settings.PAYMENT_GATEWAY``: it answers as the sandbox does,
and notes what the database held at the moment it was called, read over another connection.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from pytest_django.fixtures import Settings

from invoices import services
from invoices.gateway import Confirmation, SandboxGateway, payment_gateway
from invoices.models import GatewayOperation, IdempotentRequest, Invoice, LedgerTransaction
from invoices.services import (
    confirmation_apply,
    invoice_pay,
    invoice_refund,
    refunds_pending_send,
)
from tests.invoices.snapshot import (
    DECLINED,
    INSUFFICIENT,
    OK,
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
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(taxonomy: None) -> Any:
    return contract_of(buyer_of("bea"), provider_of("pia"))


# -- refused payment methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [
        (
            DECLINED,
            error(
                "payment_declined",
                "The payment method was declined.",
                {"payment_method": [DECLINED], "reason": "card_declined"},
            ),
        ),
        (
            INSUFFICIENT,
            error(
                "insufficient_funds",
                "The payment method has insufficient funds.",
                {"payment_method": [INSUFFICIENT]},
            ),
        ),
    ],
)
def test_a_refused_charge_is_402_and_moves_nothing(
    contract: Any, method: str, body: dict[str, Any]
) -> None:
    # given
    before = money_state(without=(GatewayOperation,))
    # when the buyer funds escrow with a refused method
    answer = post(
        client_of(contract.buyer),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 10000, "currency": "EUR", "payment_method": method},
        "fund",
    )
    # then it says why, nothing moved, and the attempt is on record as failed
    assert (answer.status_code, answer.json()) == (402, body)
    assert money_state(without=(GatewayOperation,)) == before
    assert list(GatewayOperation.objects.values_list("state", "failure_code", "amount")) == [
        ("failed", body["error"]["fields"].get("reason", "insufficient_funds"), 10000)
    ]
    assert escrow_of(contract) == 0


def test_an_unknown_payment_method_is_400_and_never_reaches_the_gateway(contract: Any) -> None:
    before = money_state()
    answer = post(
        client_of(contract.buyer),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 10000, "currency": "EUR", "payment_method": "pm_live_visa"},
        "fund",
    )
    assert (answer.status_code, answer.json()) == (
        400,
        error(
            "invalid", "The request is not valid.", {"payment_method": ["Unknown payment method."]}
        ),
    )
    assert money_state() == before
    assert not GatewayOperation.objects.exists()


@pytest.mark.parametrize("method", [DECLINED, INSUFFICIENT])
def test_a_refused_shortfall_charge_leaves_the_invoice_issued(contract: Any, method: str) -> None:
    # given 100.00 in escrow and an invoice of 300.00
    fund(contract, 10000)
    invoice = invoice_on(contract, 30000)
    before = money_state(without=(GatewayOperation,))
    # when the buyer pays with a refused method
    answer = post(
        client_of(contract.buyer),
        f"/api/invoices/{invoice.pk}/pay/",
        {"payment_method": method},
        "pay",
    )
    # then
    assert answer.status_code == 402
    assert money_state(without=(GatewayOperation,)) == before
    assert Invoice.objects.get(pk=invoice.pk).state == "issued"
    assert escrow_of(contract) == 10000
    shortfall = GatewayOperation.objects.get(idempotency_key__startswith=f"invoice-{invoice.pk}")
    assert (shortfall.state, shortfall.amount) == ("failed", 20000)


# -- confirmations, webhook-style --------------------------------------------------------------


def pending_charge(contract: Any, key: str, amount: int, method: str = OK) -> GatewayOperation:
    """A charge stored and not yet confirmed (as after a crash between storing and sending)."""
    return GatewayOperation.objects.create(
        kind=GatewayOperation.Kind.CHARGE,
        idempotency_key=key,
        buyer=contract.buyer,
        contract=contract,
        payment_method=method,
        amount=amount,
        currency="EUR",
    )


def confirmations_of(*operations: GatewayOperation) -> list[Confirmation]:
    gateway = SandboxGateway()
    return [
        gateway.charge(
            key=op.idempotency_key,
            payment_method=op.payment_method,
            amount=op.amount,
            currency=op.currency,
        )
        for op in operations
    ]


def settled(contract: Any) -> tuple[Any, ...]:
    """What confirmations decide: escrow, fundings, chat events, each operation's outcome."""
    return (
        escrow_of(contract),
        list(LedgerTransaction.objects.values_list("kind", "memo").order_by("pk")),
        money_events(contract),
        sorted(GatewayOperation.objects.values_list("idempotency_key", "state", "failure_code")),
    )


ONCE = (
    12500,
    [
        ("funding", f"charge {SandboxGateway._reference('ch', 'op-a')}"),
        ("funding", f"charge {SandboxGateway._reference('ch', 'op-b')}"),
    ],
    ["escrow_funded", "escrow_funded"],
    [("op-a", "succeeded", ""), ("op-b", "succeeded", ""), ("op-c", "failed", "card_declined")],
)


def test_each_confirmation_delivered_once_in_order(contract: Any) -> None:
    # given two good charges and a declined one, stored and not yet confirmed
    confirmations = confirmations_of(
        pending_charge(contract, "op-a", 10000),
        pending_charge(contract, "op-b", 2500),
        pending_charge(contract, "op-c", 7000, DECLINED),
    )
    # when each confirmation arrives once
    for confirmation in confirmations:
        confirmation_apply(confirmation=confirmation)
    # then
    assert settled(contract) == ONCE


@pytest.mark.parametrize("seed", range(5))
def test_confirmations_delivered_five_times_out_of_order_count_once(
    contract: Any, seed: int
) -> None:
    # given the same three operations
    confirmations = confirmations_of(
        pending_charge(contract, "op-a", 10000),
        pending_charge(contract, "op-b", 2500),
        pending_charge(contract, "op-c", 7000, DECLINED),
    )
    # when each confirmation arrives five times, all shuffled together
    deliveries = confirmations * 5
    random.Random(seed).shuffle(deliveries)
    applied = [confirmation_apply(confirmation=c) for c in deliveries]
    # then the state is the state of one delivery each, whichever came first
    assert all(operation is not None for operation in applied)
    state = settled(contract)  # fundings are posted in delivery order: compare them as a set
    assert (state[0], sorted(state[1]), state[2], state[3]) == (
        ONCE[0],
        sorted(ONCE[1]),
        ONCE[2],
        ONCE[3],
    )
    # and delivering them all again changes nothing at all
    before = money_state()
    for confirmation in deliveries:
        confirmation_apply(confirmation=confirmation)
    assert money_state() == before


def test_a_late_contrary_confirmation_does_not_undo_a_settled_operation(contract: Any) -> None:
    # given a charge confirmed as succeeded
    (good,) = confirmations_of(pending_charge(contract, "op-a", 10000))
    confirmation_apply(confirmation=good)
    before = money_state()
    # when a confirmation saying it failed arrives after
    contrary = Confirmation(
        event_id="evt_late",
        operation="op-a",
        succeeded=False,
        reference="x",
        failure_code="card_declined",
    )
    operation = confirmation_apply(confirmation=contrary)
    # then the first word stands
    assert operation is not None and operation.state == "succeeded"
    assert money_state() == before
    assert escrow_of(contract) == 10000


def test_a_confirmation_of_an_unknown_operation_changes_nothing(contract: Any) -> None:
    before = money_state()
    stray = Confirmation(event_id="evt_x", operation="nobody", succeeded=True, reference="ch_x")
    assert confirmation_apply(confirmation=stray) is None
    assert money_state() == before


# -- the outbound key is stored before the gateway is called ----------------------------------


class RecordingGateway(SandboxGateway):
    """The sandbox's answers, and a record of each call: was the caller inside a transaction,
    and did another connection see the operation's row, already committed, at that moment?"""

    calls: list[dict[str, Any]] = []

    def charge(self, *, key: str, payment_method: str, amount: int, currency: str) -> Confirmation:
        self.record(key)
        return super().charge(
            key=key, payment_method=payment_method, amount=amount, currency=currency
        )

    def refund(
        self, *, key: str, charge_reference: str, amount: int, currency: str
    ) -> Confirmation:
        self.record(key)
        return super().refund(
            key=key, charge_reference=charge_reference, amount=amount, currency=currency
        )

    def record(self, key: str) -> None:
        seen: list[tuple[str, int]] = []

        def look() -> None:  # a thread of its own: its own connection, seeing commits only
            try:
                seen.extend(
                    GatewayOperation.objects.filter(idempotency_key=key).values_list(
                        "state", "amount"
                    )
                )
            finally:
                connection.close()

        reader = threading.Thread(target=look)
        reader.start()
        reader.join()
        self.calls.append(
            {
                "key": key,
                "in_transaction": transaction.get_connection().in_atomic_block,
                "committed": seen,
            }
        )


@pytest.fixture
def recording_gateway(settings: Settings) -> Iterator[list[dict[str, Any]]]:
    settings.PAYMENT_GATEWAY = f"{__name__}.RecordingGateway"
    payment_gateway.cache_clear()
    RecordingGateway.calls = []
    yield RecordingGateway.calls
    payment_gateway.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_a_charge_is_committed_before_the_gateway_is_called(
    taxonomy: None, recording_gateway: list[dict[str, Any]]
) -> None:
    # given
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    assert isinstance(payment_gateway(), RecordingGateway)
    # when the buyer funds escrow, and pays an invoice larger than escrow
    funded = post(
        client_of(contract.buyer),
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 10000, "currency": "EUR", "payment_method": OK},
        "fund",
    )
    invoice = invoice_on(contract, 30000)
    paid = post(
        client_of(contract.buyer), f"/api/invoices/{invoice.pk}/pay/", {"payment_method": OK}, "pay"
    )
    # then each call found its operation stored, committed and pending, and no transaction open
    assert (funded.status_code, paid.status_code) == (200, 200)
    fund_key = GatewayOperation.objects.get(amount=10000).idempotency_key
    assert recording_gateway == [
        {"key": fund_key, "in_transaction": False, "committed": [("pending", 10000)]},
        {
            "key": f"invoice-{invoice.pk}-shortfall-0",
            "in_transaction": False,
            "committed": [("pending", 20000)],
        },
    ]
    # and the answers were then applied: both operations succeeded, and the idempotency keys
    # of the two requests were stored too
    assert sorted(GatewayOperation.objects.values_list("amount", "state")) == [
        (10000, "succeeded"),
        (20000, "succeeded"),
    ]
    assert IdempotentRequest.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refund_is_committed_before_the_gateway_is_called(
    taxonomy: None, recording_gateway: list[dict[str, Any]]
) -> None:
    # given a paid invoice
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 10000)
    invoice = invoice_on(contract, 10000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    recording_gateway.clear()
    # when the provider refunds part of it
    refunded = post(
        client_of(contract.provider),
        f"/api/invoices/{invoice.pk}/refund/",
        {"amount": 4000},
        "refund",
    )
    # then the gateway was called once, outside any transaction, with the refund committed
    assert refunded.status_code == 200
    refund = GatewayOperation.objects.get(kind="refund")
    assert recording_gateway == [
        {"key": refund.idempotency_key, "in_transaction": False, "committed": [("pending", 4000)]}
    ]
    assert refund.state == "succeeded"


# -- refunds go out through the gateway --------------------------------------------------------


def test_a_refund_goes_back_to_the_cards_that_paid_newest_first(contract: Any) -> None:
    # given escrow funded by two charges, and an invoice of all of it paid
    fund(contract, 10000)
    fund(contract, 20000)
    older, newer = GatewayOperation.objects.filter(kind="charge").order_by("settled_at", "pk")
    invoice = invoice_on(contract, 30000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    # when the provider refunds 25000, then 5000 more
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=25000)
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=5000)
    # then the gateway refunded the newer charge whole, and the older in two parts
    refunds = GatewayOperation.objects.filter(kind="refund").order_by("created_at", "pk")
    assert [(r.charge_id, r.amount, r.state) for r in refunds] == [
        (newer.pk, 20000, "succeeded"),
        (older.pk, 5000, "succeeded"),
        (older.pk, 5000, "succeeded"),
    ]
    assert all(r.gateway_reference.startswith("re_") for r in refunds)
    assert all(r.payment_method == OK and r.buyer == contract.buyer for r in refunds)
    # and what went out is what the ledger owes the buyer
    assert sum(r.amount for r in refunds) == balance("refunds_out", user=contract.buyer) == 30000


def test_a_refund_stored_but_never_sent_is_sent_once_by_the_schedule(contract: Any) -> None:
    # given a paid invoice, and a refund whose process stopped after it was committed
    fund(contract, 10000)
    invoice = invoice_on(contract, 10000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    services._invoice_refund_record(user=contract.provider, invoice_id=invoice.pk, amount=3000)
    assert list(GatewayOperation.objects.filter(kind="refund").values_list("state")) == [
        ("pending",)
    ]
    # when the schedule runs twice
    sent = [refunds_pending_send(), refunds_pending_send()]
    # then the refund went out once, and the ledger moved once
    assert sent == [1, 0]
    assert list(GatewayOperation.objects.filter(kind="refund").values_list("state", "amount")) == [
        ("succeeded", 3000)
    ]
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1


def test_a_refund_confirmation_delivered_again_and_out_of_order_counts_once(
    contract: Any,
) -> None:
    # given two refunds that went out
    fund(contract, 10000)
    invoice = invoice_on(contract, 10000)
    invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=1000)
    invoice_refund(user=contract.provider, invoice_id=invoice.pk, amount=2000)
    before = money_state()
    # when the gateway delivers each confirmation five times, shuffled
    gateway = SandboxGateway()
    confirmations = [
        gateway.refund(
            key=r.idempotency_key,
            charge_reference=r.charge.gateway_reference,
            amount=r.amount,
            currency=r.currency,
        )
        for r in GatewayOperation.objects.filter(kind="refund").select_related("charge")
    ] * 5
    random.Random(7).shuffle(confirmations)
    for confirmation in confirmations:
        confirmation_apply(confirmation=confirmation)
    # then nothing changed
    assert money_state() == before
