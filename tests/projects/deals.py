"""Helpers of the marketplace API tests: the stored state (to show that a refused request
changed nothing), the chat's system events, and deals made through the real services."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db.models import Model

from accounts.models import User
from chatbox.models import Conversation, Event, Participant
from projects import contracts, listings
from projects.models import (
    BidAllowance,
    Contract,
    Endorsement,
    Engagement,
    Invitation,
    Milestone,
    Offer,
    Project,
    Proposal,
    Review,
)

MARKET_MODELS: list[type[Model]] = [
    Project,
    Invitation,
    Proposal,
    BidAllowance,
    Offer,
    Engagement,
    Contract,
    Milestone,
    Review,
    Endorsement,
    Conversation,
    Participant,
    Event,
]


def market_state() -> dict[str, list[dict[str, Any]]]:
    """Every stored row of the marketplace and of the chat, column by column."""
    return {
        model.__name__: list(model._default_manager.order_by("pk").values())
        for model in MARKET_MODELS
    }


def system_events(conversation_id: uuid.UUID | str) -> list[str]:
    """The ``data.event`` of the conversation's system events, in the chain's order."""
    events = Event.objects.filter(conversation_id=conversation_id, kind=Event.Kind.SYSTEM)
    return [event.data["event"] for event in events.order_by("seq")]


def error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error shape of PROTOCOL.md §2."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def project_listed(
    buyer: User,
    *,
    title: str = "Bakery logo",
    description: str = "A logo for a small bakery in Lyon.",
    category: str = "design",
    skills: tuple[str, ...] = ("logo-design",),
    amount: int = 50000,
    currency: str = "EUR",
    kind: str = Project.BudgetKind.FIXED,
    visibility: str = Project.Visibility.PUBLIC,
) -> Project:
    return listings.project_post(
        buyer=buyer,
        title=title,
        description=description,
        category=category,
        skills=list(skills),
        budget=listings.Budget(amount=amount, currency=currency, kind=kind),
        visibility=visibility,
    )


def proposal_of(provider: User, project: Project, *, amount: int = 45000) -> Proposal:
    terms = listings.ProposalTerms(
        cover_letter="I have done this before.", amount=amount, currency="EUR", duration_days=14
    )
    return listings.proposal_submit(provider=provider, project_id=project.pk, terms=terms).proposal


def contract_of(
    buyer: User,
    provider: User,
    *,
    title: str = "Bakery logo",
    milestones: list[tuple[str, int, date | None]] | None = None,
) -> Contract:
    """A buyer's project, the provider's proposal on it, accepted: the contract."""
    project = project_listed(buyer, title=title)
    proposal = proposal_of(provider, project, amount=45000)
    terms = None
    if milestones is not None:
        terms = [contracts.MilestoneTerms(name, amount, due) for name, amount, due in milestones]
    return contracts.proposal_accept(buyer=buyer, proposal_id=proposal.pk, milestones=terms)
