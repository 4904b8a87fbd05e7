"""Fifty confirmations of one invoice at the same moment, run for real on PostgreSQL.

Each confirmation takes the invoice's row lock; the first moves it from ``issued`` to ``paid``
by a conditional update and releases escrow once; the others find it paid and are refused
with 409 ``invoice_not_issued``. Escrow never goes below zero. Threads with their own database
connections: this runs in the PostgreSQL pass (``make pytest-services``).
"""

from __future__ import annotations

import pytest

from chatbox.errors import ApplicationError
from invoices.models import Entry, Invoice, LedgerTransaction
from invoices.services import LineItem, escrow_fund, invoice_pay, invoice_raise
from projects.taxonomy import taxonomy_sync
from tests.invoices.test_money_flow import contract_between, verified_provider
from tests.postgres.test_bid_quota_race import all_at_once
from tests.projects.market import buyer
from tests.services import require_postgres

CONFIRMATIONS = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_confirmations_pay_an_invoice_once() -> None:
    require_postgres()
    # given a funded contract and an invoice of the whole escrow
    taxonomy_sync()
    bea, pia = buyer("bea"), verified_provider()
    contract = contract_between(bea, pia)
    escrow_fund(
        buyer=bea,
        contract_id=contract.pk,
        amount=50000,
        currency="EUR",
        payment_method="pm_sandbox_ok",
    )
    invoice = invoice_raise(
        provider=pia, contract_id=contract.pk, currency="EUR", items=[LineItem("Logo", 50000)]
    )

    def confirm(_: int) -> str:
        try:
            invoice_pay(buyer=bea, invoice_id=invoice.pk)
        except ApplicationError as refused:
            return refused.code
        return "paid"

    # when fifty confirmations arrive at once
    outcomes = all_at_once(CONFIRMATIONS, confirm)

    # then it is paid once, the others are told it is no longer issued
    assert sorted(set(outcomes)) == ["invoice_not_issued", "paid"]
    assert outcomes.count("paid") == 1
    assert Invoice.objects.get(pk=invoice.pk).state == "paid"
    assert LedgerTransaction.objects.filter(kind="release").count() == 1
    escrow = Entry.objects.filter(account__kind="escrow").values_list("amount", flat=True)
    assert sum(escrow) == 0
    for movement in LedgerTransaction.objects.all():
        assert sum(movement.entries.values_list("amount", flat=True)) == 0
