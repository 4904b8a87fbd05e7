"""Confirmations of one invoice at the same moment, through the API, run for real on PostgreSQL.

Fifty requests with different Idempotency-Keys: the first to take the invoice's row lock moves
it from ``issued`` to ``paid`` by a conditional update and releases escrow once. Every other
one is refused with 409 ``invoice_not_issued`` — never ``escrow_insufficient``, although
escrow is empty once the winner commits: ``invoice_pay`` reads the invoice's state again after
escrow's balance, so a late request that sees the emptied escrow also sees the invoice paid.
With a shortfall in escrow, the shortfall is charged once (one key per invoice and attempt).

Requests with one Idempotency-Key do the work once: the key's row is inserted before the work
runs, and the others replay the answer or are told 409 ``idempotency_in_progress``.

Threads with their own database connections, released together by a barrier.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoices.models import Entry, GatewayOperation, IdempotentRequest, Invoice, LedgerTransaction
from projects.taxonomy import taxonomy_sync
from tests.invoices.snapshot import (
    OK,
    buyer_of,
    client_of,
    contract_of,
    escrow_of,
    fund,
    invoice_on,
    post,
    provider_of,
    transaction_sums,
)
from tests.postgres.test_bid_quota_race import all_at_once
from tests.services import require_postgres

CONFIRMATIONS = 50


def answer_of(response: Any) -> tuple[int, str]:
    payload = response.json()
    return response.status_code, payload.get("state") or payload["error"]["code"]


def assert_paid_once(invoice: Invoice, contract: Any) -> None:
    assert Invoice.objects.get(pk=invoice.pk).state == "paid"
    assert LedgerTransaction.objects.filter(kind="release").count() == 1
    release = Entry.objects.filter(transaction__kind="release").values_list(
        "account__kind", "amount"
    )
    assert sorted(release) == sorted(
        [
            ("escrow", -invoice.total),
            ("provider", invoice.total * 9 // 10),
            ("fees", invoice.total // 10),
        ]
    )
    assert escrow_of(contract) == 0
    assert all(sum_ == 0 for sum_ in transaction_sums())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_confirmations_with_different_keys_pay_an_invoice_once() -> None:
    require_postgres()
    # given a contract whose escrow holds exactly an invoice's total
    taxonomy_sync()
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 50000)
    invoice = invoice_on(contract, 50000)
    clients = [client_of(contract.buyer) for _ in range(CONFIRMATIONS)]

    # when fifty confirmations, each under its own key, arrive at once
    answers = all_at_once(
        CONFIRMATIONS,
        lambda n: answer_of(post(clients[n], f"/api/invoices/{invoice.pk}/pay/", {}, f"pay-{n}")),
    )

    # then one pays it; the 49 others are told it is no longer issued
    assert sorted(answers) == [(200, "paid")] + [(409, "invoice_not_issued")] * 49
    assert_paid_once(invoice, contract)
    assert IdempotentRequest.objects.count() == CONFIRMATIONS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_confirmations_charge_a_shortfall_once() -> None:
    require_postgres()
    # given 300.00 in escrow and an invoice of 500.00
    taxonomy_sync()
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 30000)
    invoice = invoice_on(contract, 50000)
    clients = [client_of(contract.buyer) for _ in range(CONFIRMATIONS)]

    # when fifty confirmations with a good card arrive at once
    answers = all_at_once(
        CONFIRMATIONS,
        lambda n: answer_of(
            post(clients[n], f"/api/invoices/{invoice.pk}/pay/", {"payment_method": OK}, f"p{n}")
        ),
    )

    # then the card is charged the 200.00 shortfall once, and the invoice is paid once
    assert sorted(answers) == [(200, "paid")] + [(409, "invoice_not_issued")] * 49
    shortfall = GatewayOperation.objects.exclude(amount=30000)
    assert list(shortfall.values_list("idempotency_key", "amount", "state")) == [
        (f"invoice-{invoice.pk}-shortfall-0", 20000, "succeeded")
    ]
    assert LedgerTransaction.objects.filter(kind="funding").count() == 2
    assert_paid_once(invoice, contract)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_confirmations_with_one_key_do_the_work_once() -> None:
    require_postgres()
    # given a funded invoice and twenty clients of its buyer
    taxonomy_sync()
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 50000)
    invoice = invoice_on(contract, 50000)
    clients: list[Client] = [client_of(contract.buyer) for _ in range(20)]
    url = f"/api/invoices/{invoice.pk}/pay/"

    # when they all send the same confirmation under one key at once
    answers = all_at_once(20, lambda n: answer_of(post(clients[n], url, {}, "one-key")))

    # then each got the payment or "still running", the work ran once, one answer is kept
    assert set(answers) <= {(200, "paid"), (409, "idempotency_in_progress")}
    assert (200, "paid") in answers
    assert_paid_once(invoice, contract)
    stored = IdempotentRequest.objects.get()
    assert (stored.key, stored.status, stored.body["state"]) == ("one-key", 200, "paid")
    # and a replay afterwards is the stored answer
    assert answer_of(post(clients[0], url, {}, "one-key")) == (200, "paid")
