"""The ledger's guards that only the database can give, on PostgreSQL.

- Ledger rows are append-only even for bulk updates and deletes, which never reach the model's
  ``save``/``delete``: a row trigger refuses them (invoices migration 0004).
- Refunds of two invoices of one contract at the same moment split over its charges without
  refunding any charge beyond what it charged: both lock the buyer's ``refunds_out`` account
  (and then the charges) before a refund is cut, so one waits for the other's commit.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from invoices.models import Entry, GatewayOperation, LedgerTransaction
from invoices.services import invoice_pay, invoice_refund
from projects.taxonomy import taxonomy_sync
from tests.invoices.snapshot import buyer_of, contract_of, fund, invoice_on, provider_of
from tests.postgres.test_bid_quota_race import all_at_once
from tests.services import require_postgres


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda: Entry.objects.update(amount=1), id="entries-updated"),
        pytest.param(lambda: Entry.objects.all().delete(), id="entries-deleted"),
        pytest.param(lambda: LedgerTransaction.objects.update(memo="x"), id="movements-updated"),
        pytest.param(  # under the PROTECT of its entries, as raw SQL would
            lambda: LedgerTransaction.objects.all()._raw_delete("default"), id="movements-deleted"
        ),
    ],
)
def test_bulk_changes_of_the_ledger_are_refused_by_the_database(change: object) -> None:
    require_postgres()
    taxonomy_sync()
    # given a funded contract
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 10000)
    before = (
        list(Entry.objects.order_by("pk").values()),
        list(LedgerTransaction.objects.order_by("pk").values()),
    )
    # when a bulk change bypasses the model
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()  # type: ignore[operator]
    # then the rows are as they were
    assert (
        list(Entry.objects.order_by("pk").values()),
        list(LedgerTransaction.objects.order_by("pk").values()),
    ) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_refunds_at_once_never_refund_a_charge_twice() -> None:
    require_postgres()
    # given two charges of 300.00 and 200.00, and two paid invoices of 250.00
    taxonomy_sync()
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    fund(contract, 30000)
    fund(contract, 20000)
    invoices = [invoice_on(contract, 25000), invoice_on(contract, 25000)]
    for invoice in invoices:
        invoice_pay(buyer=contract.buyer, invoice_id=invoice.pk)

    # when the provider refunds both in full at the same moment
    all_at_once(
        2,
        lambda n: (
            invoice_refund(user=contract.provider, invoice_id=invoices[n].pk, amount=25000).refunded
        ),
    )

    # then every charge was refunded exactly what it charged, each refund went out once
    refunds = GatewayOperation.objects.filter(kind="refund")
    assert set(refunds.values_list("state", flat=True)) == {"succeeded"}
    for charge in GatewayOperation.objects.filter(kind="charge"):
        assert sum(charge.refunds.values_list("amount", flat=True)) == charge.amount
