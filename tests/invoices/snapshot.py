"""Helpers of the money test suite: the stored state of money (to show that a refused request
moved nothing), the parties of a deal, and requests with an ``Idempotency-Key``.

``money_state`` is ``tests.projects.deals.market_state`` for invoices: every row of the ledger,
the gateway's operations, the invoices and the chat's events, column by column. Two things are
left out on purpose, and each test that cares looks at them itself: ledger accounts (made on
first use, empty, by a request that is then refused — a row, not a movement) and idempotent
requests (a refusal is an answer, and is stored like one).
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import Model, Sum
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox.models import Event
from invoices.models import Account, Entry, GatewayOperation, Invoice, LedgerTransaction
from invoices.services import LineItem, escrow_fund, invoice_raise
from projects.contracts import proposal_accept
from projects.listings import Budget, ProposalTerms, project_post, proposal_submit
from projects.models import Contract
from tests.factories import UserFactory

MONEY_MODELS: list[type[Model]] = [LedgerTransaction, Entry, GatewayOperation, Invoice, Event]
OK, DECLINED, INSUFFICIENT = "pm_sandbox_ok", "pm_sandbox_declined", "pm_sandbox_insufficient"


def money_state(*, without: tuple[type[Model], ...] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of money and of the chat, column by column."""
    return {
        model.__name__: list(model._default_manager.order_by("pk").values())
        for model in MONEY_MODELS
        if model not in without
    }


def error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error shape of PROTOCOL.md §2."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# -- people and deals ----------------------------------------------------------------------


def buyer_of(username: str = "bea") -> User:
    return UserFactory(username=username, display_name=username.title(), is_buyer=True)


def provider_of(username: str = "pia", *, email: bool = True, phone: bool = True) -> User:
    """A provider; with a verified e-mail address and phone number unless told otherwise."""
    provider = UserFactory(username=username, display_name=username.title(), is_provider=True)
    if email:
        EmailAddress.objects.create(
            user=provider, email=f"{username}@example.com", verified=True, primary=True
        )
    if phone:
        provider.phone_number, provider.phone_verified_at = "+33612345678", timezone.now()
        provider.save()
    return provider


def support_of(username: str = "sam") -> User:
    return UserFactory(username=username, display_name="Sam Support", is_support=True)


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def contract_of(buyer: User, provider: User, *, amount: int = 50000) -> Contract:
    """The buyer's project, the provider's proposal on it, accepted (EUR)."""
    project = project_post(
        buyer=buyer,
        title="Bakery logo",
        description="",
        category="design",
        skills=[],
        budget=Budget(amount=amount, currency="EUR"),
    )
    terms = ProposalTerms(cover_letter="Hi", amount=amount, currency="EUR", duration_days=7)
    proposal = proposal_submit(provider=provider, project_id=project.pk, terms=terms).proposal
    return proposal_accept(buyer=buyer, proposal_id=proposal.pk)


def fund(contract: Contract, amount: int) -> None:
    escrow_fund(
        buyer=contract.buyer,
        contract_id=contract.pk,
        amount=amount,
        currency="EUR",
        payment_method=OK,
    )


def invoice_on(contract: Contract, *amounts: int, note: str = "") -> Invoice:
    """An invoice of the contract's provider, one line per amount."""
    return invoice_raise(
        provider=contract.provider,
        contract_id=contract.pk,
        currency="EUR",
        items=[LineItem(f"Line {n}", amount) for n, amount in enumerate(amounts, 1)],
        note=note,
    )


# -- requests and balances -------------------------------------------------------------------


def post(client: Client, url: str, body: dict[str, Any] | None, key: str | None) -> Any:
    """An unsafe money request; ``key=None`` sends no ``Idempotency-Key``."""
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(url, body or {}, content_type="application/json", **headers)


def balance(kind: str, **owner: Any) -> int:
    """The balance of an account (0 when it was never used)."""
    account = Account.objects.filter(kind=kind, currency="EUR", **owner).first()
    if account is None:
        return 0
    return int(account.entries.aggregate(total=Sum("amount"))["total"] or 0)


def escrow_of(contract: Contract) -> int:
    return balance(Account.Kind.ESCROW, contract=contract)


def money_events(contract: Contract) -> list[str]:
    """The ``data.event`` of the chat's invoice and payment events, in the chain's order."""
    events = Event.objects.filter(
        conversation_id=contract.engagement.conversation_id,
        kind__in=[Event.Kind.INVOICE, Event.Kind.PAYMENT],
    )
    return [event.data["event"] for event in events.order_by("seq")]


def transaction_sums() -> list[int]:
    """Each ledger transaction's sum of entries (all EUR here): zero, every one."""
    return [
        sum(movement.entries.values_list("amount", flat=True))
        for movement in LedgerTransaction.objects.order_by("pk")
    ]
