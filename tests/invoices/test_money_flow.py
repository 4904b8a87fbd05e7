"""The money path of PROTOCOL.md §2: fund escrow, raise an invoice in the chat, pay it, refund
part of it — with the ledger's balances and the chat's events at each step."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chatbox.models import Event
from chatbox.services import conversation_chain_verify
from invoices.models import Entry, LedgerTransaction
from projects.contracts import proposal_accept
from projects.listings import Budget, ProposalTerms, project_post, proposal_submit
from projects.models import Contract
from tests.projects.market import buyer, client_of, provider

pytestmark = pytest.mark.django_db


def money(client: Client, url: str, body: dict[str, Any], key: str) -> Any:
    return client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def contract_between(bea: Any, pia: Any) -> Contract:
    project = project_post(
        buyer=bea,
        title="Bakery logo",
        description="",
        category="design",
        skills=[],
        budget=Budget(amount=50000, currency="EUR"),
    )
    terms = ProposalTerms(cover_letter="Hi", amount=50000, currency="EUR", duration_days=7)
    proposal = proposal_submit(provider=pia, project_id=project.pk, terms=terms).proposal
    return proposal_accept(buyer=bea, proposal_id=proposal.pk)


def verified_provider() -> Any:
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    pia = provider("pia")
    EmailAddress.objects.create(user=pia, email=pia.email, verified=True, primary=True)
    pia.phone_number, pia.phone_verified_at = "+33612345678", timezone.now()
    pia.save()
    return pia


def test_fund_invoice_pay_refund(taxonomy: None) -> None:
    # given a contract between a buyer and a verified provider
    bea, pia = buyer("bea"), verified_provider()
    contract = contract_between(bea, pia)
    bea_client, pia_client = client_of(bea), client_of(pia)
    conversation = contract.engagement.conversation_id
    # when the buyer funds 300.00 EUR
    funded = money(
        bea_client,
        f"/api/contracts/{contract.pk}/fund/",
        {"amount": 30000, "currency": "EUR", "payment_method": "pm_sandbox_ok"},
        "fund-1",
    )
    assert funded.status_code == 200, funded.json()
    assert funded.json()["escrow"] == 30000
    # and the provider invoices 500.00 EUR, and the buyer pays (200.00 charged for the rest)
    raised = money(
        pia_client,
        f"/api/conversations/{conversation}/invoices/",
        {
            "contract": contract.pk,
            "currency": "EUR",
            "items": [{"description": "Logo", "amount": 50000}],
            "note": "Thanks!",
        },
        "invoice-1",
    )
    assert raised.status_code == 201, raised.json()
    assert (raised.json()["state"], raised.json()["total"]) == ("issued", 50000)
    invoice = raised.json()["id"]
    paid = money(
        bea_client, f"/api/invoices/{invoice}/pay/", {"payment_method": "pm_sandbox_ok"}, "pay-1"
    )
    assert paid.status_code == 200, paid.json()
    assert (paid.json()["state"], paid.json()["fee"]) == ("paid", 5000)
    # and the provider refunds 100.00 EUR
    refunded = money(pia_client, f"/api/invoices/{invoice}/refund/", {"amount": 10000}, "re-1")
    assert refunded.status_code == 200, refunded.json()
    # then the ledger holds it all, and every transaction sums to zero
    ledger = bea_client.get(f"/api/contracts/{contract.pk}/ledger/").json()
    assert ledger["balances"] == {
        "escrow": 0,
        "provider": 45000 - 9000,
        "fees": 5000 - 1000,
        "refunded": 10000,
    }
    for movement in LedgerTransaction.objects.all():
        assert sum(Entry.objects.filter(transaction=movement).values_list("amount", flat=True)) == 0
    # and the chat shows it, in a chain that verifies
    events = Event.objects.filter(conversation_id=conversation, kind__in=["invoice", "payment"])
    assert [e.data["event"] for e in events.order_by("seq")] == [
        "escrow_funded",
        "invoice_issued",
        "escrow_funded",
        "invoice_paid",
        "refund",
    ]
    assert conversation_chain_verify(conversation_id=conversation).ok
    # and a replay of the payment returns the first answer and moves nothing
    transactions = LedgerTransaction.objects.count()
    again = money(
        bea_client, f"/api/invoices/{invoice}/pay/", {"payment_method": "pm_sandbox_ok"}, "pay-1"
    )
    assert (again.status_code, again.json()) == (200, paid.json())
    assert LedgerTransaction.objects.count() == transactions
