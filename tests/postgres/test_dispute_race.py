"""Disputes at the same moment, through the API, run for real on PostgreSQL.

Twenty acceptances of one proposal, each under its own Idempotency-Key: the first to take the
contract's row lock (then the dispute's, the proposal's, the freeze's and the ledger accounts')
resolves the dispute and settles the freeze once; every other one then finds the dispute
resolved (409 ``dispute_stage``). The split is executed once, and its refund cut and sent once.

Payments racing a dispute's opening: the freeze is made, and every payment's escrow check is
read, under the escrow account's row lock, so either the dispute freezes first (and a payment
that would need the frozen money is refused) or the payments take the escrow first (and the
dispute is refused for lack of free escrow). Never both: escrow never falls below what is
frozen, and the settlement always finds the frozen amount.

Threads with their own database connections, released together by a barrier.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoices.models import EscrowFreeze, GatewayOperation, Invoice, LedgerTransaction
from invoices.services import escrow_frozen
from projects.taxonomy import taxonomy_sync
from reports.disputes import disputes_deadlines_run
from reports.models import Dispute
from tests.invoices.snapshot import (
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

ACCEPTS = 20
ROUNDS = 5


def answer_of(response: Any) -> tuple[int, str]:
    payload = response.json()
    if "error" in payload:
        return response.status_code, payload["error"]["code"]
    return response.status_code, payload.get("stage") or payload.get("state")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_acceptances_of_one_proposal_settle_it_once() -> None:
    require_postgres()
    # given a dispute over 300.00 and the provider's proposal: 100.00 back, 200.00 released
    taxonomy_sync()
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 50000)
    buyer, provider = contract.buyer, contract.provider
    opened = post(
        client_of(buyer),
        "/api/disputes/",
        {"contract": contract.pk, "reason": "Late.", "amount": 30000},
        "open",
    )
    dispute_id = opened.json()["id"]
    proposal = post(
        client_of(provider),
        f"/api/disputes/{dispute_id}/proposals/",
        {"refund": 10000, "release": 20000},
        "propose",
    ).json()["id"]
    clients: list[Client] = [client_of(buyer) for _ in range(ACCEPTS)]
    url = f"/api/disputes/{dispute_id}/proposals/{proposal}/accept/"

    # when the buyer's twenty acceptances, each under its own key, arrive at once
    answers = all_at_once(ACCEPTS, lambda n: answer_of(post(clients[n], url, {}, f"accept-{n}")))

    # then one settles it; the nineteen others find it resolved
    assert sorted(answers) == [(200, "resolved")] + [(409, "dispute_stage")] * (ACCEPTS - 1)
    [settlement] = LedgerTransaction.objects.filter(kind="settlement")
    assert sorted(settlement.entries.values_list("account__kind", "amount")) == sorted(
        [("escrow", -30000), ("provider", 18000), ("fees", 2000), ("refunds_out", 10000)]
    )
    freeze = EscrowFreeze.objects.get()
    assert (freeze.settled_at is not None, freeze.ledger_transaction_id) == (True, settlement.pk)
    refunds = GatewayOperation.objects.filter(kind="refund")
    assert list(refunds.values_list("amount", "state")) == [(10000, "succeeded")]
    assert escrow_of(contract) == 20000
    assert all(sum_ == 0 for sum_ in transaction_sums())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_payments_racing_a_dispute_never_spend_frozen_escrow() -> None:
    require_postgres()
    taxonomy_sync()
    outcomes: set[str] = set()
    for round_ in range(ROUNDS):
        # given 500.00 in escrow and two invoices of 200.00
        contract = contract_of(buyer_of(f"bea{round_}"), provider_of(f"pia{round_}"))
        fund(contract, 50000)
        invoices = [invoice_on(contract, 20000), invoice_on(contract, 20000)]
        clients: list[Client] = [client_of(contract.buyer) for _ in range(3)]

        def act(
            n: int, contract: Any = contract, invoices: Any = invoices, clients: Any = clients
        ) -> Any:
            if n == 0:  # the buyer disputes 300.00 of the contract
                body = {"contract": contract.pk, "reason": "Late.", "amount": 30000}
                return answer_of(post(clients[0], "/api/disputes/", body, "open"))
            invoice = invoices[n - 1]  # and pays each invoice from escrow alone
            return answer_of(post(clients[n], f"/api/invoices/{invoice.pk}/pay/", {}, f"pay-{n}"))

        # when the dispute's opening and both payments arrive at once
        dispute_answer, *pay_answers = all_at_once(3, act)

        # then either the dispute froze first and one payment was refused, or both payments
        # went through and the dispute was refused for lack of free escrow — never both
        paid = sum(
            invoice.total for invoice in Invoice.objects.filter(contract=contract, state="paid")
        )
        frozen = escrow_frozen(contract)
        if dispute_answer == (201, "direct"):
            outcomes.add("frozen first")
            assert sorted(pay_answers) == [(200, "paid"), (409, "escrow_insufficient")]
            assert (paid, frozen) == (20000, 30000)
        else:
            outcomes.add("paid first")
            assert dispute_answer == (409, "dispute_exceeds_escrow")
            assert pay_answers == [(200, "paid"), (200, "paid")]
            assert (paid, frozen) == (40000, 0)
        assert escrow_of(contract) == 50000 - paid >= frozen

        # and the frozen amount is there for the settlement (the buyer wins by default)
        dispute = Dispute.objects.filter(contract=contract).first()
        if dispute is not None:
            assert disputes_deadlines_run(now=dispute.deadline_at) == 1
            assert escrow_of(contract) == 50000 - paid - frozen >= 0
            assert EscrowFreeze.objects.get(contract=contract).settled_at is not None
    assert all(sum_ == 0 for sum_ in transaction_sums())
    assert outcomes  # which interleavings ran is up to the database; each one holds
