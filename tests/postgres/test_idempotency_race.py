"""Ten requests with one Idempotency-Key at the same moment, run for real on PostgreSQL.

The key's row is inserted before the work runs; the unique constraint lets one request
insert it and do the work, and every other request either replays the stored answer or, if
the first has not answered yet, is told 409 ``idempotency_in_progress``. The money moves once.
"""

from __future__ import annotations

import pytest
from django.test import Client

from invoices.models import GatewayOperation, IdempotentRequest, LedgerTransaction
from projects.taxonomy import taxonomy_sync
from tests.invoices.test_money_flow import contract_between, money, verified_provider
from tests.postgres.test_bid_quota_race import all_at_once
from tests.projects.market import buyer
from tests.services import require_postgres

REQUESTS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_fund_once() -> None:
    require_postgres()
    # given a contract and ten clients of its buyer
    taxonomy_sync()
    bea = buyer("bea")
    contract = contract_between(bea, verified_provider())
    clients = []
    for _ in range(REQUESTS):
        client = Client()
        client.force_login(bea)
        clients.append(client)
    body = {"amount": 10000, "currency": "EUR", "payment_method": "pm_sandbox_ok"}

    def fund(index: int) -> tuple[int, str]:
        response = money(clients[index], f"/api/contracts/{contract.pk}/fund/", body, "one-key")
        payload = response.json()
        return response.status_code, payload.get("error", {}).get("code", "funded")

    # when all ten send it at once
    outcomes = all_at_once(REQUESTS, fund)

    # then every answer is the funding or "still running", and the money moved once
    assert set(outcomes) <= {(200, "funded"), (409, "idempotency_in_progress")}
    assert (200, "funded") in outcomes
    assert LedgerTransaction.objects.filter(kind="funding").count() == 1
    assert GatewayOperation.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1
