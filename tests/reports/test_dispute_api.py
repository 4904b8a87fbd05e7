"""The disputes API at its edges (PROTOCOL.md §6): who may do what, bad input, stages that
refuse, and the Idempotency-Key contract. Every refusal is a clear 4xx in the one error shape,
and is checked to have moved nothing: no dispute, proposal, freeze, case, participation,
ledger row, gateway operation, invoice change or chat event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from invoices.models import EscrowFreeze, IdempotentRequest, Invoice
from invoices.services import invoice_decline, invoice_pay
from reports.models import Dispute, DisputeProposal
from tests.factories import UserFactory
from tests.invoices.money import staff_member
from tests.invoices.snapshot import (
    buyer_of,
    client_of,
    contract_of,
    error,
    fund,
    invoice_on,
    post,
    provider_of,
)
from tests.reports.test_disputes import (
    Deal,
    accept_path,
    call,
    call_with,
    deal,
    dispute_state,
    opened,
    proposed,
)

__all__ = ["deal"]

pytestmark = pytest.mark.django_db


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the error shape with ``status`` and ``code``; its ``fields``."""
    payload = response.json()
    assert (response.status_code, payload["error"]["code"]) == (status, code), payload
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "fields"}
    assert payload["error"]["message"]
    fields: dict[str, Any] = payload["error"]["fields"]
    return fields


def unchanged(request: Callable[[], Any]) -> Any:
    """Send ``request``; assert that it moved nothing; return its response."""
    before = dispute_state()
    response = request()
    assert dispute_state() == before
    return response


def outsider() -> Any:
    return UserFactory(username="olga", display_name="Olga")


# -- opening -------------------------------------------------------------------------------------


def test_opening_answers_the_dispute(deal: Deal) -> None:
    response = call(
        deal.buyer,
        "/api/disputes/",
        {"contract": deal.contract.pk, "reason": "The logo is not what we agreed.", "amount": 100},
    )
    assert response.status_code == 201
    body = response.json()
    dispute = Dispute.objects.get()
    assert body == {
        "id": dispute.pk,
        "contract": deal.contract.pk,
        "conversation": str(deal.contract.engagement.conversation_id),
        "invoice": None,
        "buyer": deal.buyer.pk,
        "provider": deal.provider.pk,
        "opened_by": deal.buyer.pk,
        "reason": "The logo is not what we agreed.",
        "amount": 100,
        "currency": "EUR",
        "stage": "direct",
        "deadline_at": dispute.deadline_at.isoformat(),
        "mediator": None,
        "opened_at": dispute.opened_at.isoformat(),
        "resolved_at": None,
        "outcome": "",
        "refund": 0,
        "release": 0,
        "proposals": [],
    }
    assert EscrowFreeze.objects.get().amount == 100


def test_someone_elses_contract_is_not_found(deal: Deal) -> None:
    olga = outsider()
    response = unchanged(
        lambda: call(olga, "/api/disputes/", {"contract": deal.contract.pk, "reason": "Mine."})
    )
    assert response.json() == error("not_found", "No such contract.")
    assert response.status_code == 404


def test_support_staff_do_not_open_disputes_on_others_contracts(deal: Deal) -> None:
    _, sam_client = staff_member("sam")
    response = unchanged(
        lambda: call_with(
            sam_client,
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": "No.", "amount": 100},
        )
    )
    refused(response, 404, "not_found")


def test_anonymous_requests_are_401(deal: Deal) -> None:
    response = unchanged(
        lambda: post(Client(), "/api/disputes/", {"contract": deal.contract.pk}, "k")
    )
    refused(response, 401, "not_authenticated")


def test_more_than_the_available_escrow_is_refused(deal: Deal) -> None:
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": "Late.", "amount": 50001},
        )
    )
    fields = refused(response, 409, "dispute_exceeds_escrow")
    assert fields == {"available": 50000, "amount": ["At most 50000."]}


def test_a_contract_without_escrow_cannot_be_disputed(taxonomy: None) -> None:
    bea, pia = buyer_of("bea"), provider_of("pia")
    contract = contract_of(bea, pia)
    response = unchanged(
        lambda: call(
            bea, "/api/disputes/", {"contract": contract.pk, "reason": "Late.", "amount": 1}
        )
    )
    assert refused(response, 409, "dispute_exceeds_escrow")["available"] == 0


@pytest.mark.parametrize("amount", [0, -5, 12.5, 100.0, "100", True, None, 10**12])
def test_a_bad_amount_is_invalid(deal: Deal, amount: Any) -> None:
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": "Late.", "amount": amount},
        )
    )
    assert "amount" in refused(response, 400, "invalid")


def test_an_amount_is_needed_without_an_invoice(deal: Deal) -> None:
    response = unchanged(
        lambda: call(deal.buyer, "/api/disputes/", {"contract": deal.contract.pk, "reason": "x"})
    )
    assert refused(response, 400, "invalid") == {
        "amount": ["Give the disputed amount in minor units (cents)."]
    }


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_reason_is_needed(deal: Deal, reason: str) -> None:
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": reason, "amount": 100},
        )
    )
    assert "reason" in refused(response, 400, "invalid")


def test_an_invoice_of_another_contract_is_invalid(deal: Deal) -> None:
    other = contract_of(buyer_of("bob"), provider_of("pat"))
    fund(other, 10000)
    foreign = invoice_on(other, 5000)
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "invoice": foreign.pk, "reason": "Late."},
        )
    )
    assert refused(response, 400, "invalid") == {"invoice": ["No such invoice on this contract."]}


@pytest.mark.parametrize("state", ["paid", "declined"])
def test_an_invoice_that_is_not_issued_is_refused(deal: Deal, state: str) -> None:
    invoice = invoice_on(deal.contract, 10000)
    if state == "paid":
        invoice_pay(buyer=deal.buyer, invoice_id=invoice.pk)
    else:
        invoice_decline(buyer=deal.buyer, invoice_id=invoice.pk, reason="No.")
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "invoice": invoice.pk, "reason": "Late."},
        )
    )
    assert refused(response, 409, "invoice_not_issued") == {"state": state}


def test_more_than_the_invoice_is_invalid(deal: Deal) -> None:
    invoice = invoice_on(deal.contract, 10000)
    response = unchanged(
        lambda: call(
            deal.buyer,
            "/api/disputes/",
            {"contract": deal.contract.pk, "invoice": invoice.pk, "reason": "x", "amount": 10001},
        )
    )
    assert refused(response, 400, "invalid") == {
        "amount": ["At most the invoice's total, 100.00 EUR."]
    }
    assert Invoice.objects.get().state == "issued"


def test_a_second_open_dispute_is_refused(deal: Deal) -> None:
    first = opened(deal.buyer, deal.contract, amount=100)
    response = unchanged(
        lambda: call(
            deal.provider,
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": "Also.", "amount": 100},
        )
    )
    assert refused(response, 409, "dispute_open") == {"dispute": first["id"]}


# -- reading -------------------------------------------------------------------------------------


def test_who_reads_a_dispute(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    proposal = proposed(deal.provider, dispute["id"], 40, 60, note="Meet halfway.")
    path = f"/api/disputes/{dispute['id']}/"
    _, sam_client = staff_member("sam")
    _, nomfa_client = staff_member("nomfa", mfa=False)
    for reader in (client_of(deal.buyer), client_of(deal.provider), sam_client):
        response = reader.get(path)
        assert response.status_code == 200
        [shown] = response.json()["proposals"]
        assert (shown["id"], shown["side"], shown["refund"], shown["release"]) == (
            proposal,
            "provider",
            40,
            60,
        )
        assert (shown["note"], shown["state"]) == ("Meet halfway.", "open")
    refused(nomfa_client.get(path), 403, "mfa_required")
    refused(client_of(outsider()).get(path), 404, "not_found")
    refused(client_of(deal.buyer).get("/api/disputes/999999/"), 404, "not_found")


# -- proposals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"refund": 40, "release": 50}, {"refund", "release"}),
        ({"refund": 100, "release": 1}, {"refund", "release"}),
        ({"refund": -1, "release": 101}, {"refund"}),
        ({"refund": 50.0, "release": 50}, {"refund"}),
        ({"refund": "50", "release": 50}, {"refund"}),
        ({"refund": False, "release": 100}, {"refund"}),
        ({"release": 100}, {"refund"}),
        ({"refund": 0, "release": 100, "note": "x" * 2001}, {"note"}),
    ],
)
def test_proposals_that_do_not_add_up_are_invalid(
    deal: Deal, body: dict[str, Any], fields: set[str]
) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    response = unchanged(
        lambda: call(deal.provider, f"/api/disputes/{dispute['id']}/proposals/", body)
    )
    assert set(refused(response, 400, "invalid")) == fields


def test_outsiders_and_staff_who_do_not_mediate_cannot_propose(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    path = f"/api/disputes/{dispute['id']}/proposals/"
    body = {"refund": 50, "release": 50}
    olga = outsider()
    refused(unchanged(lambda: call(olga, path, body)), 404, "not_found")
    _, sam_client = staff_member("sam")
    refused(unchanged(lambda: call_with(sam_client, path, body)), 403, "forbidden")


def test_accepting_ones_own_proposal_is_forbidden(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    proposal = proposed(deal.buyer, dispute["id"], 100, 0)
    response = unchanged(lambda: call(deal.buyer, accept_path(dispute["id"], proposal)))
    refused(response, 403, "forbidden")


def test_accepting_a_superseded_proposal_is_refused(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    first = proposed(deal.provider, dispute["id"], 0, 100)
    proposed(deal.provider, dispute["id"], 20, 80)
    response = unchanged(lambda: call(deal.buyer, accept_path(dispute["id"], first)))
    assert refused(response, 409, "proposal_not_open") == {"state": "superseded"}


def test_accepting_in_a_resolved_dispute_is_refused(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    one = proposed(deal.provider, dispute["id"], 0, 100)
    other = proposed(deal.buyer, dispute["id"], 100, 0)
    assert call(deal.buyer, accept_path(dispute["id"], one)).status_code == 200
    response = unchanged(lambda: call(deal.provider, accept_path(dispute["id"], other)))
    assert refused(response, 409, "dispute_stage") == {"stage": "resolved"}
    assert DisputeProposal.objects.get(pk=other).state == "superseded"


def test_a_proposal_of_another_dispute_is_not_found(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    response = unchanged(lambda: call(deal.buyer, accept_path(dispute["id"], 999999)))
    refused(response, 404, "not_found")


def test_the_mediator_never_accepts_and_proposes_only_in_mediation(deal: Deal) -> None:
    _, sam_client = staff_member("sam")
    dispute = opened(deal.buyer, deal.contract, amount=100)
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    proposal = proposed(deal.provider, dispute["id"], 0, 100)
    accept = accept_path(dispute["id"], proposal)
    refused(unchanged(lambda: call_with(sam_client, accept)), 403, "forbidden")
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    path = f"/api/disputes/{dispute['id']}/proposals/"
    response = unchanged(lambda: call_with(sam_client, path, {"refund": 50, "release": 50}))
    assert refused(response, 409, "dispute_stage") == {"stage": "arbitration"}
    # nor do the parties in arbitration: support decides
    refused(unchanged(lambda: call(deal.buyer, accept)), 409, "dispute_stage")


# -- escalation ----------------------------------------------------------------------------------


def test_only_a_party_escalates(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    path = f"/api/disputes/{dispute['id']}/escalate/"
    _, sam_client = staff_member("sam")
    refused(unchanged(lambda: call_with(sam_client, path)), 403, "forbidden")
    olga = outsider()
    refused(unchanged(lambda: call(olga, path)), 404, "not_found")


# -- the decision --------------------------------------------------------------------------------


def _in_arbitration(deal: Deal) -> int:
    dispute = opened(deal.buyer, deal.contract, amount=100)
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    return int(dispute["id"])


DECISION = {"refund": 30, "release": 70, "reason": "Partly delivered."}


def test_a_decision_outside_arbitration_is_refused(deal: Deal) -> None:
    _, sam_client = staff_member("sam")
    dispute = opened(deal.buyer, deal.contract, amount=100)
    path = f"/api/disputes/{dispute['id']}/decision/"
    response = unchanged(lambda: call_with(sam_client, path, DECISION))
    assert refused(response, 409, "dispute_stage") == {"stage": "direct"}


def test_a_decision_by_a_party_is_forbidden(deal: Deal) -> None:
    dispute_id = _in_arbitration(deal)
    path = f"/api/disputes/{dispute_id}/decision/"
    refused(unchanged(lambda: call(deal.buyer, path, DECISION)), 403, "forbidden")
    refused(unchanged(lambda: call(outsider(), path, DECISION)), 403, "forbidden")


def test_a_decision_by_staff_without_mfa_is_forbidden(deal: Deal) -> None:
    dispute_id = _in_arbitration(deal)
    _, nomfa_client = staff_member("nomfa", mfa=False)
    path = f"/api/disputes/{dispute_id}/decision/"
    refused(unchanged(lambda: call_with(nomfa_client, path, DECISION)), 403, "mfa_required")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"refund": 30, "release": 60, "reason": "x"}, {"refund", "release"}),
        ({"refund": 30, "release": 70, "reason": " "}, {"reason"}),
        ({"refund": 30, "release": 70}, {"reason"}),
    ],
)
def test_a_decision_that_does_not_add_up_is_invalid(
    deal: Deal, body: dict[str, Any], fields: set[str]
) -> None:
    dispute_id = _in_arbitration(deal)
    _, sam_client = staff_member("sam")
    path = f"/api/disputes/{dispute_id}/decision/"
    assert set(refused(unchanged(lambda: call_with(sam_client, path, body)), 400, "invalid")) == (
        fields
    )


def test_a_decision_on_a_dispute_about_ones_own_contract_is_forbidden(taxonomy: None) -> None:
    sam, sam_client = staff_member("sam")
    sam.is_buyer = True
    sam.save(update_fields=["is_buyer"])
    contract = contract_of(sam, provider_of("pia"))
    fund(contract, 1000)
    dispute = opened(sam, contract, amount=100)
    call(sam, f"/api/disputes/{dispute['id']}/escalate/")
    call(sam, f"/api/disputes/{dispute['id']}/escalate/")
    path = f"/api/disputes/{dispute['id']}/decision/"
    refused(unchanged(lambda: call_with(sam_client, path, DECISION)), 403, "forbidden")


# -- the Idempotency-Key -------------------------------------------------------------------------


def test_every_unsafe_request_needs_an_idempotency_key(deal: Deal) -> None:
    _, sam_client = staff_member("sam")
    dispute_id = _in_arbitration(deal)
    requests: list[tuple[Client, str, dict[str, Any]]] = [
        (
            client_of(deal.buyer),
            "/api/disputes/",
            {"contract": deal.contract.pk, "reason": "x", "amount": 1},
        ),
        (client_of(deal.provider), f"/api/disputes/{dispute_id}/proposals/", {"refund": 0}),
        (client_of(deal.buyer), accept_path(dispute_id, 1), {}),
        (client_of(deal.buyer), f"/api/disputes/{dispute_id}/escalate/", {}),
        (sam_client, f"/api/disputes/{dispute_id}/decision/", DECISION),
    ]
    for client, path, body in requests:
        before = dispute_state()
        response = post(client, path, body, None)
        assert dispute_state() == before
        refused(response, 400, "idempotency_key_required")
    assert IdempotentRequest.objects.filter(status=400).count() == 0


def test_a_replay_returns_the_first_answer_and_opens_nothing_more(deal: Deal) -> None:
    body = {"contract": deal.contract.pk, "reason": "Late.", "amount": 100}
    first = call(deal.buyer, "/api/disputes/", body, key="open-once")
    replay = unchanged(lambda: call(deal.buyer, "/api/disputes/", body, key="open-once"))
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = unchanged(
        lambda: call(deal.buyer, "/api/disputes/", {**body, "amount": 200}, key="open-once")
    )
    refused(other, 409, "idempotency_key_reused")
    assert Dispute.objects.count() == 1
