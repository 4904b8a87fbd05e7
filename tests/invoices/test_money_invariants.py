"""The ledger's invariants under any sequence of money actions (a Hypothesis state machine).

Rules fund escrow (with every sandbox payment method), raise invoices, pay, decline, cancel
and refund them, and deliver the gateway's confirmations again. After every step: each
ledger transaction sums to zero; escrow = funded - released >= 0; what the provider and the
fees received, less refunds, never exceeds what was charged; an invoice never leaves a
terminal state; refunds never pass what was paid; every amount is an integer.

Each example runs in a savepoint of the test's transaction, rolled back when it ends, so
examples never see each other's rows.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from chatbox.errors import ApplicationError
from invoices.gateway import SandboxGateway
from invoices.models import Entry, GatewayOperation, Invoice, LedgerTransaction
from invoices.services import (
    LineItem,
    confirmation_apply,
    escrow_fund,
    invoice_cancel,
    invoice_decline,
    invoice_pay,
    invoice_raise,
    invoice_refund,
)
from tests.invoices.test_money_flow import contract_between, verified_provider
from tests.projects.market import buyer

METHODS = st.sampled_from(["pm_sandbox_ok", "pm_sandbox_declined", "pm_sandbox_insufficient"])
AMOUNTS = st.integers(min_value=1, max_value=200_000)
TERMINAL = {"paid", "declined", "cancelled"}


class MoneyMachine(RuleBasedStateMachine):
    invoices = Bundle("invoices")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.states: dict[int, str] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    @initialize()
    def contract(self) -> None:
        self.buyer, self.provider = buyer("bea"), verified_provider()
        self.deal = contract_between(self.buyer, self.provider)

    def attempt(self, action: Any) -> None:
        """A refusal is an answer, not a failure: the invariants say whether it moved money."""
        with contextlib.suppress(ApplicationError):
            action()

    @rule(amount=AMOUNTS, method=METHODS)
    def fund(self, amount: int, method: str) -> None:
        self.attempt(
            lambda: escrow_fund(
                buyer=self.buyer,
                contract_id=self.deal.pk,
                amount=amount,
                currency="EUR",
                payment_method=method,
            )
        )

    @rule(target=invoices, amount=AMOUNTS)
    def raise_invoice(self, amount: int) -> int:
        invoice = invoice_raise(
            provider=self.provider,
            contract_id=self.deal.pk,
            currency="EUR",
            items=[LineItem("Work", amount)],
        )
        self.states[invoice.pk] = invoice.state
        return invoice.pk

    @rule(invoice=invoices, method=st.one_of(st.just(""), METHODS))
    def pay(self, invoice: int, method: str) -> None:
        self.attempt(
            lambda: invoice_pay(buyer=self.buyer, invoice_id=invoice, payment_method=method)
        )

    @rule(invoice=invoices)
    def decline(self, invoice: int) -> None:
        self.attempt(lambda: invoice_decline(buyer=self.buyer, invoice_id=invoice, reason="No."))

    @rule(invoice=invoices)
    def cancel(self, invoice: int) -> None:
        self.attempt(lambda: invoice_cancel(provider=self.provider, invoice_id=invoice))

    @rule(invoice=invoices, amount=AMOUNTS)
    def refund(self, invoice: int, amount: int) -> None:
        self.attempt(lambda: invoice_refund(user=self.provider, invoice_id=invoice, amount=amount))

    @rule()
    def replay_confirmations(self) -> None:
        gateway = SandboxGateway()
        for operation in GatewayOperation.objects.all():
            confirmation_apply(
                confirmation=gateway.charge(
                    key=operation.idempotency_key,
                    payment_method=operation.payment_method,
                    amount=operation.amount,
                    currency=operation.currency,
                )
            )

    @invariant()
    def transactions_balance(self) -> None:
        for movement in LedgerTransaction.objects.prefetch_related("entries"):
            amounts = [entry.amount for entry in movement.entries.all()]
            assert all(isinstance(amount, int) for amount in amounts)
            assert sum(amounts) == 0

    @invariant()
    def escrow_is_funded_less_released(self) -> None:
        def total(**filters: Any) -> int:
            return sum(Entry.objects.filter(**filters).values_list("amount", flat=True))

        charged = sum(
            GatewayOperation.objects.filter(state="succeeded").values_list("amount", flat=True)
        )
        funded = total(account__kind="escrow", amount__gt=0)
        released = -total(account__kind="escrow", amount__lt=0)
        assert funded == charged
        assert total(account__kind="escrow") == funded - released >= 0
        paid_out = total(account__kind__in=["provider", "fees"])
        refunded = total(account__kind="refunds_out")
        assert paid_out + refunded == released <= charged

    @invariant()
    def invoices_keep_their_terminal_state(self) -> None:
        for invoice in Invoice.objects.all():
            before = self.states.get(invoice.pk)
            if before in TERMINAL:
                assert invoice.state == before
            self.states[invoice.pk] = invoice.state
            assert 0 <= invoice.refunded <= invoice.total
            assert invoice.refunded == 0 or invoice.state == "paid"


@pytest.mark.django_db
def test_money_invariants_hold_under_any_sequence(taxonomy: None) -> None:
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=200,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
