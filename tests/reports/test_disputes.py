"""Disputes to their ledger result (issue 6, point 4): a party's proposal accepted, a
mediator's proposal accepted by both parties, an arbitration decision, and a party that loses
by default on the deadline — each with the exact ledger entries, the gateway's refunds, the
chat's events in order and the invoice's state. Then the freeze: with a dispute open, no
payment, auto-release or escrow return takes the frozen escrow. Then escalation, by request
and on the deadline, and the deadline run twice. Times are explicit; nothing sleeps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox.models import Event, Participant
from invoices.models import (
    Account,
    Entry,
    EscrowFreeze,
    EscrowReturn,
    GatewayOperation,
    Invoice,
    LedgerTransaction,
)
from invoices.schedules import escrow_returns_run, invoices_auto_release
from invoices.services import escrow_available
from projects.contracts import contract_end
from projects.models import Contract
from reports.disputes import disputes_deadlines_run
from reports.models import Case, Dispute, DisputeProposal
from tests.invoices.money import staff_member
from tests.invoices.snapshot import (
    OK,
    buyer_of,
    client_of,
    contract_of,
    escrow_of,
    fund,
    invoice_on,
    money_state,
    post,
    provider_of,
)

pytestmark = pytest.mark.django_db

DISPUTE_MODELS: list[type[Model]] = [Dispute, DisputeProposal, EscrowFreeze, Case, Participant]


# -- helpers (the API tests and the PostgreSQL race use them too) ----------------------------------


@dataclass(frozen=True)
class Deal:
    buyer: User
    provider: User
    contract: Contract


@pytest.fixture
def deal(taxonomy: None) -> Deal:
    """Bea (buyer) and Pia (verified provider), their contract with 500.00 EUR in escrow."""
    bea, pia = buyer_of("bea"), provider_of("pia")
    contract = contract_of(bea, pia)
    fund(contract, 50000)
    return Deal(bea, pia, contract)


def dispute_state() -> dict[str, list[dict[str, Any]]]:
    """``money_state`` and every row of disputes, freezes, cases and participations."""
    return {
        **money_state(),
        **{
            model.__name__: list(model._default_manager.order_by("pk").values())
            for model in DISPUTE_MODELS
        },
    }


def call(user: User, path: str, body: dict[str, Any] | None = None, *, key: str = "") -> Any:
    """A dispute request by ``user`` under a fresh ``Idempotency-Key`` (or ``key``)."""
    return post(client_of(user), path, body, key or str(uuid.uuid4()))


def call_with(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return post(client, path, body, str(uuid.uuid4()))


def opened(user: User, contract: Contract, **body: Any) -> dict[str, Any]:
    response = call(user, "/api/disputes/", {"contract": contract.pk, "reason": "Late.", **body})
    assert response.status_code == 201, response.json()
    answer: dict[str, Any] = response.json()
    return answer


def proposed(user: User, dispute_id: int, refund: int, release: int, note: str = "") -> int:
    response = call(
        user,
        f"/api/disputes/{dispute_id}/proposals/",
        {"refund": refund, "release": release, "note": note},
    )
    assert response.status_code == 201, response.json()
    return int(response.json()["id"])


def accept_path(dispute_id: int, proposal_id: int) -> str:
    return f"/api/disputes/{dispute_id}/proposals/{proposal_id}/accept/"


def settlement_entries() -> list[tuple[str, int]]:
    """The entries of the (one) settlement transaction, by account kind."""
    [movement] = LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.SETTLEMENT)
    return sorted(movement.entries.values_list("account__kind", "amount"))


def refunds_sent() -> list[tuple[int, str]]:
    """The gateway's refund operations, by the ledger movement they pay out."""
    return list(
        GatewayOperation.objects.filter(kind=GatewayOperation.Kind.REFUND)
        .order_by("ledger_transaction_id", "idempotency_key")
        .values_list("amount", "state")
    )


def dispute_events(contract: Contract) -> list[str]:
    """The ``data.event`` of the chat's dispute events, in the chain's order."""
    events = Event.objects.filter(
        conversation_id=contract.engagement.conversation_id, kind=Event.Kind.DISPUTE
    ).order_by("seq")
    return [event.data["event"] for event in events]


def dispute_event(contract: Contract, name: str) -> Event:
    [event] = Event.objects.filter(
        conversation_id=contract.engagement.conversation_id,
        kind=Event.Kind.DISPUTE,
        data__event=name,
    )
    return event


def sums() -> dict[str, int]:
    """Every account kind's balance over the whole ledger."""
    totals: dict[str, int] = {}
    for kind, amount in Entry.objects.values_list("account__kind", "amount"):
        totals[kind] = totals.get(kind, 0) + amount
    return totals


def assert_resolved(dispute_id: int, outcome: str, refund: int, release: int) -> None:
    dispute = Dispute.objects.get(pk=dispute_id)
    assert (dispute.stage, dispute.outcome, dispute.refund, dispute.release) == (
        "resolved",
        outcome,
        refund,
        release,
    )
    assert dispute.resolved_at is not None
    freeze = EscrowFreeze.objects.get(reference=f"dispute-{dispute_id}")
    assert freeze.settled_at is not None
    assert freeze.ledger_transaction is not None
    assert freeze.ledger_transaction.kind == LedgerTransaction.Kind.SETTLEMENT
    case = Case.objects.get(dispute=dispute)
    assert (case.status, case.closed_at is not None) == ("closed", True)
    assert not DisputeProposal.objects.filter(dispute=dispute, state="open").exists()


# -- each path to its ledger result ---------------------------------------------------------------


def test_a_partys_proposal_accepted_settles_the_invoice_dispute_through_the_ledger(
    deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    # given an issued invoice of 300.00 on 500.00 of escrow, disputed by the buyer
    invoice = invoice_on(deal.contract, 30000)
    dispute = opened(deal.buyer, deal.contract, invoice=invoice.pk)
    assert (dispute["stage"], dispute["amount"], dispute["invoice"]) == (
        "direct",
        30000,
        invoice.pk,
    )
    assert Invoice.objects.get(pk=invoice.pk).state == "disputed"
    assert escrow_available(deal.contract) == 20000
    case = Case.objects.get(dispute__pk=dispute["id"])
    assert (case.kind, case.target_key, case.subject, case.money_at_stake) == (
        "dispute",
        f"dispute:{dispute['id']}",
        deal.provider,
        30000,
    )
    # when the provider proposes 100.00 back and 200.00 released, and the buyer accepts
    proposal = proposed(deal.provider, dispute["id"], 10000, 20000, note="Half the logo was late.")
    with django_capture_on_commit_callbacks(execute=True):
        response = call(deal.buyer, accept_path(dispute["id"], proposal))
    # then the dispute is settled and the split executed in one settlement transaction
    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["outcome"]) == ("resolved", "settled")
    assert_resolved(dispute["id"], "settled", 10000, 20000)
    assert settlement_entries() == sorted(
        [("escrow", -30000), ("provider", 18000), ("fees", 2000), ("refunds_out", 10000)]
    )
    assert LedgerTransaction.objects.get(kind="settlement").invoice_id == invoice.pk
    assert refunds_sent() == [(10000, "succeeded")]
    assert escrow_of(deal.contract) == 20000
    assert DisputeProposal.objects.get(pk=proposal).accepted_by == deal.buyer
    # and the chat tells each step; the invoice stays disputed (the dispute holds the outcome)
    assert dispute_events(deal.contract) == [
        "dispute_opened",
        "dispute_proposal",
        "dispute_settled",
    ]
    settled = dispute_event(deal.contract, "dispute_settled").data
    assert (settled["refund"], settled["release"], settled["fee"]) == (10000, 20000, 2000)
    assert settled["transaction"] == LedgerTransaction.objects.get(kind="settlement").pk
    assert Invoice.objects.get(pk=invoice.pk).state == "disputed"


def test_a_mediators_proposal_binds_when_both_parties_accept(
    deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    # given a dispute the provider opened over 400.00, taken to mediation by the buyer
    sam, _ = staff_member("sam")
    dispute = opened(deal.provider, deal.contract, amount=40000)
    escalated = call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    assert (escalated.json()["stage"], escalated.json()["mediator"]) == ("mediation", sam.pk)
    # the mediator joined the conversation visibly: a participant, named in the chat
    joined = Participant.objects.get(
        conversation_id=deal.contract.engagement.conversation_id, user=sam
    )
    assert joined.role == "support"
    assert dispute_event(deal.contract, "dispute_escalated").data["mediator"] == sam.pk
    # when the mediator proposes 150.00 back, 250.00 released; the buyer accepts first
    proposal = proposed(sam, dispute["id"], 15000, 25000)
    first = call(deal.buyer, accept_path(dispute["id"], proposal))
    # then nothing moved yet: the proposal waits for the provider
    assert (first.status_code, first.json()["stage"]) == (200, "mediation")
    assert not LedgerTransaction.objects.filter(kind="settlement").exists()
    assert DisputeProposal.objects.get(pk=proposal).state == "open"
    # and the buyer's second acceptance changes nothing
    before = dispute_state()
    again = call(deal.buyer, accept_path(dispute["id"], proposal))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "proposal_already_accepted")
    assert dispute_state() == before
    # when the provider accepts too
    with django_capture_on_commit_callbacks(execute=True):
        second = call(deal.provider, accept_path(dispute["id"], proposal))
    # then it binds: settled through the ledger
    assert (second.status_code, second.json()["outcome"]) == (200, "settled")
    assert_resolved(dispute["id"], "settled", 15000, 25000)
    assert settlement_entries() == sorted(
        [("escrow", -40000), ("provider", 22500), ("fees", 2500), ("refunds_out", 15000)]
    )
    assert refunds_sent() == [(15000, "succeeded")]
    assert escrow_of(deal.contract) == 10000
    assert dispute_events(deal.contract) == [
        "dispute_opened",
        "dispute_escalated",
        "dispute_proposal",
        "dispute_proposal_accepted",
        "dispute_settled",
    ]
    assert Case.objects.get(dispute__pk=dispute["id"]).status == "closed"


def test_an_arbitration_decision_binds_and_executes(
    deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    # given 200.00 of a 500.00 invoice disputed, taken to mediation, then to arbitration
    sam, sam_client = staff_member("sam")
    invoice = invoice_on(deal.contract, 50000)
    dispute = opened(deal.buyer, deal.contract, invoice=invoice.pk, amount=20000)
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    arbitration = call(deal.provider, f"/api/disputes/{dispute['id']}/escalate/")
    assert arbitration.json()["stage"] == "arbitration"
    # when support decides it all goes back to the buyer
    with django_capture_on_commit_callbacks(execute=True):
        response = call_with(
            sam_client,
            f"/api/disputes/{dispute['id']}/decision/",
            {"refund": 20000, "release": 0, "reason": "The work was never delivered."},
        )
    # then it is executed: 200.00 from escrow back to the buyer's card, no fee
    assert (response.status_code, response.json()["outcome"]) == (200, "decided")
    assert_resolved(dispute["id"], "decided", 20000, 0)
    assert settlement_entries() == [("escrow", -20000), ("refunds_out", 20000)]
    assert refunds_sent() == [(20000, "succeeded")]
    assert escrow_of(deal.contract) == 30000
    assert Case.objects.get(dispute__pk=dispute["id"]).closed_by == sam
    assert dispute_events(deal.contract) == [
        "dispute_opened",
        "dispute_escalated",
        "dispute_escalated",
        "dispute_decided",
    ]
    decided = dispute_event(deal.contract, "dispute_decided").data
    assert (decided["by"], decided["refund"], decided["release"]) == (sam.pk, 20000, 0)
    assert Invoice.objects.get(pk=invoice.pk).state == "disputed"


@pytest.mark.parametrize(
    ("opener", "entries", "refunds"),
    [
        ("buyer", [("escrow", -30000), ("refunds_out", 30000)], [(30000, "succeeded")]),
        ("provider", [("escrow", -30000), ("fees", 3000), ("provider", 27000)], []),
    ],
)
def test_the_silent_party_loses_by_default_on_the_deadline(
    deal: Deal,
    django_capture_on_commit_callbacks: Any,
    opener: str,
    entries: list[tuple[str, int]],
    refunds: list[tuple[int, str]],
) -> None:
    # given a dispute over 300.00; the party it is against never answers
    who = deal.buyer if opener == "buyer" else deal.provider
    dispute = opened(who, deal.contract, amount=30000)
    deadline = Dispute.objects.get(pk=dispute["id"]).deadline_at
    assert deadline == Dispute.objects.get(pk=dispute["id"]).opened_at + timedelta(days=3)
    # when the schedule runs a second before the deadline, then at it, twice
    with django_capture_on_commit_callbacks(execute=True):
        assert disputes_deadlines_run(now=deadline - timedelta(seconds=1)) == 0
        assert Dispute.objects.get(pk=dispute["id"]).stage == "direct"
        assert disputes_deadlines_run(now=deadline) == 1
        assert disputes_deadlines_run(now=deadline) == 0
    # then the opener wins: the buyer gets a refund, the provider a release (less the fee)
    refund, release = (30000, 0) if opener == "buyer" else (0, 30000)
    assert_resolved(dispute["id"], "default", refund, release)
    assert settlement_entries() == sorted(entries)
    assert refunds_sent() == refunds
    assert escrow_of(deal.contract) == 20000
    assert dispute_events(deal.contract) == ["dispute_opened", "dispute_default"]
    default = dispute_event(deal.contract, "dispute_default").data
    other = deal.provider if opener == "buyer" else deal.buyer
    assert (default["winner"], default["loser"]) == (who.pk, other.pk)


# -- the freeze ----------------------------------------------------------------------------------


def test_paying_another_invoice_cannot_take_frozen_escrow(deal: Deal) -> None:
    # given 500.00 in escrow, two invoices of 300.00, and the first one disputed
    disputed = invoice_on(deal.contract, 30000)
    other = invoice_on(deal.contract, 30000)
    opened(deal.buyer, deal.contract, invoice=disputed.pk)
    # when the buyer pays the other from escrow alone
    before = dispute_state()
    refused = call(deal.buyer, f"/api/invoices/{other.pk}/pay/")
    # then escrow has only 200.00 free: refused, and nothing moved
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "escrow_insufficient"
    assert refused.json()["error"]["fields"]["shortfall"] == 10000
    assert dispute_state() == before
    # and with a card, the card pays the 100.00 the frozen escrow cannot
    paid = call(deal.buyer, f"/api/invoices/{other.pk}/pay/", {"payment_method": OK})
    assert (paid.status_code, paid.json()["state"]) == (200, "paid")
    assert GatewayOperation.objects.filter(amount=10000, kind="charge").count() == 1
    assert escrow_of(deal.contract) == 30000  # exactly the frozen part
    assert escrow_available(deal.contract) == 0


def test_auto_release_skips_the_disputed_invoice_and_pays_from_what_is_free(deal: Deal) -> None:
    # given invoices of 300.00 (disputed), 150.00 and 100.00, all past their due date
    disputed = invoice_on(deal.contract, 30000)
    larger = invoice_on(deal.contract, 15000)
    smaller = invoice_on(deal.contract, 10000)
    opened(deal.buyer, deal.contract, invoice=disputed.pk)
    # when the auto-release runs (newest invoice first), twice
    later = smaller.due_at + timedelta(days=1)
    assert invoices_auto_release(now=later) == 1
    assert invoices_auto_release(now=later) == 0
    # then the disputed one is untouched, 100.00 is paid from the free 200.00, and the 150.00
    # waits: the 100.00 left free does not cover it, and the frozen 300.00 is not touched
    assert dict(Invoice.objects.values_list("pk", "state")) == {
        disputed.pk: "disputed",
        larger.pk: "issued",
        smaller.pk: "paid",
    }
    assert escrow_of(deal.contract) == 40000
    assert escrow_available(deal.contract) == 10000
    [short] = Event.objects.filter(data__event="auto_release_short")
    assert short.data["invoice"] == larger.pk
    assert EscrowFreeze.objects.get().settled_at is None


def test_a_withdrawals_escrow_return_leaves_the_frozen_part_for_the_dispute(
    deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    # given 200.00 disputed by the buyer, then the provider withdraws
    dispute = opened(deal.buyer, deal.contract, amount=20000)
    ended = contract_end(user=deal.provider, contract_id=deal.contract.pk, outcome="withdrawn")
    assert ended.ended_at is not None
    # when the escrow return is due, and runs twice
    due = ended.ended_at + timedelta(hours=73)
    with django_capture_on_commit_callbacks(execute=True):
        assert escrow_returns_run(now=due) == 1
        assert escrow_returns_run(now=due) == 0
    # then the free 300.00 went back; the frozen 200.00 waits for the dispute
    assert EscrowReturn.objects.get().returned == 30000
    assert escrow_of(deal.contract) == 20000
    # and the dispute still settles it (the provider never answered: the buyer wins)
    deadline = Dispute.objects.get(pk=dispute["id"]).deadline_at
    with django_capture_on_commit_callbacks(execute=True):
        assert disputes_deadlines_run(now=max(deadline, due)) == 1
    assert escrow_of(deal.contract) == 0
    assert sums()[Account.Kind.REFUNDS_OUT] == 50000
    assert refunds_sent() == [(30000, "succeeded"), (20000, "succeeded")]


# -- escalation ----------------------------------------------------------------------------------


def test_a_party_escalates_to_mediation_then_to_arbitration(deal: Deal) -> None:
    # given two support members with MFA, one already mediating another dispute
    busy, _ = staff_member("busy")
    free, _ = staff_member("free")
    bea2, pia2 = buyer_of("bea2"), provider_of("pia2")
    other = contract_of(bea2, pia2)
    fund(other, 10000)
    elsewhere = opened(bea2, other, amount=10000)
    Dispute.objects.filter(pk=elsewhere["id"]).update(stage="mediation", mediator=busy)
    dispute = opened(deal.buyer, deal.contract, amount=10000)
    # when the buyer escalates
    before = timezone.now()
    response = call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    # then mediation, with the least busy mediator, and a new window
    assert (response.status_code, response.json()["stage"]) == (200, "mediation")
    mediated = Dispute.objects.get(pk=dispute["id"])
    assert mediated.mediator == free
    assert mediated.deadline_at >= before + timedelta(days=3)
    escalated = dispute_event(deal.contract, "dispute_escalated").data
    assert (escalated["from"], escalated["to"], escalated["by"], escalated["automatic"]) == (
        "direct",
        "mediation",
        deal.buyer.pk,
        False,
    )
    # when the provider escalates, then the buyer again
    assert call(deal.provider, f"/api/disputes/{dispute['id']}/escalate/").json()["stage"] == (
        "arbitration"
    )
    before_third = dispute_state()
    third = call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    # then arbitration is the last stage: refused, nothing moved
    assert (third.status_code, third.json()["error"]["code"]) == (409, "dispute_stage")
    assert dispute_state() == before_third


def test_without_a_mediator_with_mfa_the_dispute_waits_in_mediation(deal: Deal) -> None:
    # given support staff without MFA only
    staff_member("nomfa", mfa=False)
    dispute = opened(deal.buyer, deal.contract, amount=10000)
    # when the buyer escalates
    response = call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    # then it is in mediation without a mediator; the case waits in support's queue
    assert (response.json()["stage"], response.json()["mediator"]) == ("mediation", None)
    assert Case.objects.get(dispute__pk=dispute["id"]).status == "open"
    assert Participant.objects.filter(role="support").count() == 0


def test_the_deadline_escalates_when_the_other_party_answered(deal: Deal) -> None:
    # given a dispute in which the provider (the party it is against) made a proposal
    sam, _ = staff_member("sam")
    dispute = opened(deal.buyer, deal.contract, amount=30000)
    proposed(deal.provider, dispute["id"], 0, 30000)
    deadline = Dispute.objects.get(pk=dispute["id"]).deadline_at
    # when the direct stage's window passes, and the schedule runs twice
    assert disputes_deadlines_run(now=deadline) == 1
    assert disputes_deadlines_run(now=deadline) == 0
    # then mediation, automatically, with a mediator and a new window; no money moved
    mediated = Dispute.objects.get(pk=dispute["id"])
    assert (mediated.stage, mediated.mediator, mediated.deadline_at) == (
        "mediation",
        sam,
        deadline + timedelta(days=3),
    )
    escalated = dispute_event(deal.contract, "dispute_escalated").data
    assert (escalated["by"], escalated["automatic"]) == (None, True)
    # when mediation's window passes too: arbitration
    assert disputes_deadlines_run(now=mediated.deadline_at) == 1
    assert Dispute.objects.get(pk=dispute["id"]).stage == "arbitration"
    # and arbitration waits for support, however late the schedule runs
    assert disputes_deadlines_run(now=mediated.deadline_at + timedelta(days=30)) == 0
    assert Dispute.objects.get(pk=dispute["id"]).stage == "arbitration"
    assert not LedgerTransaction.objects.filter(kind="settlement").exists()
    assert escrow_of(deal.contract) == 50000
    assert dispute_events(deal.contract) == [
        "dispute_opened",
        "dispute_proposal",
        "dispute_escalated",
        "dispute_escalated",
    ]


def test_a_half_accepted_mediator_proposal_counts_as_an_answer(deal: Deal) -> None:
    # given mediation where the respondent (the provider) only accepted the mediator's proposal
    sam, _ = staff_member("sam")
    dispute = opened(deal.buyer, deal.contract, amount=30000)
    call(deal.buyer, f"/api/disputes/{dispute['id']}/escalate/")
    proposal = proposed(sam, dispute["id"], 10000, 20000)
    assert call(deal.provider, accept_path(dispute["id"], proposal)).status_code == 200
    deadline = Dispute.objects.get(pk=dispute["id"]).deadline_at
    # when mediation's window passes
    assert disputes_deadlines_run(now=deadline) == 1
    # then arbitration, not a default loss
    assert Dispute.objects.get(pk=dispute["id"]).stage == "arbitration"
    assert not LedgerTransaction.objects.filter(kind="settlement").exists()


def test_a_new_proposal_supersedes_the_same_sides_open_one(deal: Deal) -> None:
    dispute = opened(deal.buyer, deal.contract, amount=30000)
    first = proposed(deal.provider, dispute["id"], 0, 30000)
    buyers = proposed(deal.buyer, dispute["id"], 30000, 0)
    second = proposed(deal.provider, dispute["id"], 10000, 20000, note="Fair?")
    states = dict(DisputeProposal.objects.values_list("pk", "state"))
    assert states == {first: "superseded", buyers: "open", second: "open"}
    events = Event.objects.filter(kind=Event.Kind.DISPUTE, data__event="dispute_proposal")
    assert [e.data["superseded"] for e in events.order_by("seq")] == [[], [], [first]]


def test_the_deadline_resolves_a_dispute_in_mediation_by_default_too(
    deal: Deal, django_capture_on_commit_callbacks: Any
) -> None:
    # given mediation asked for by the provider (the opener), the buyer silent throughout
    staff_member("sam")
    dispute = opened(deal.provider, deal.contract, amount=20000)
    call(deal.provider, f"/api/disputes/{dispute['id']}/escalate/")
    deadline = Dispute.objects.get(pk=dispute["id"]).deadline_at
    # when mediation's window passes
    with django_capture_on_commit_callbacks(execute=True):
        assert disputes_deadlines_run(now=deadline) == 1
    # then the provider wins by default: 200.00 released, less the fee
    assert_resolved(dispute["id"], "default", 0, 20000)
    assert settlement_entries() == sorted([("escrow", -20000), ("provider", 18000), ("fees", 2000)])
