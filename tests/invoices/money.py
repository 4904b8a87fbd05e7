"""Helpers of the money tests: a contract with funded escrow, invoices, events, staff."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from accounts.models import User
from chatbox.models import Event
from invoices.models import Invoice
from invoices.services import LineItem, escrow_fund, invoice_raise
from projects.models import Contract
from tests.factories import UserFactory
from tests.invoices.test_money_flow import contract_between, money, verified_provider

__all__ = [
    "contract_between",
    "events_of",
    "funded_contract",
    "invoice_of",
    "money",
    "staff_member",
    "verified_provider",
]

TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def funded_contract(bea: User, pia: User, amount: int = 50000) -> Contract:
    contract = contract_between(bea, pia)
    escrow_fund(
        buyer=bea,
        contract_id=contract.pk,
        amount=amount,
        currency="EUR",
        payment_method="pm_sandbox_ok",
    )
    return contract


def invoice_of(pia: User, contract: Contract, amount: int = 50000) -> Invoice:
    return invoice_raise(
        provider=pia, contract_id=contract.pk, currency="EUR", items=[LineItem("Logo", amount)]
    )


def events_of(contract: Contract, event: str) -> list[Event]:
    """The chat's events of one kind (``data.event``), in order."""
    return list(
        Event.objects.filter(
            conversation_id=contract.engagement.conversation_id, data__event=event
        ).order_by("seq")
    )


def staff_member(username: str = "sam", *, mfa: bool = True) -> tuple[User, Client]:
    """Support staff, signed in; with a TOTP authenticator unless ``mfa=False``."""
    member = UserFactory(username=username, display_name="Sam Support", is_support=True)
    if mfa:
        TOTP.activate(member, TOTP_SECRET)
    client = Client()
    client.force_login(member)
    return member, client
