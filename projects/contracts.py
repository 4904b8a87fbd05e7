"""Contracts and their milestones, made by accepting a proposal or buying an offer.

Every contract lives in its engagement's chatbox: its events (accepted, milestone added or
delivered, ended) are posted there as system events in the chain, in the same transaction
as the change. See docs/marketplace.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services import standing_require
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.services import system_event_post
from projects.errors import MarketErrorCode
from projects.listings import (
    invalid_field,
    money_check,
    proposal_buyer_check,
    proposal_decide,
    proposal_event_data,
    proposal_locked,
    text_check,
)
from projects.models import (
    DURATION_DAYS_MAX,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_TITLE_MAX,
    Category,
    Contract,
    Engagement,
    Milestone,
    Offer,
    Project,
    Proposal,
)
from projects.money import format_amount
from projects.services import engagement_open

CONTRACT_NOT_FOUND = "No such contract."
OFFER_NOT_FOUND = "No such offer."
MILESTONES_MAX = 50


@dataclass(frozen=True)
class MilestoneTerms:
    title: str
    amount: int
    due_on: date | None = None


def _conversation_of(contract: Contract) -> Any:
    return contract.engagement.conversation_id


def _contract_event(contract: Contract, body: str, event: str, **data: Any) -> None:
    system_event_post(
        conversation_id=_conversation_of(contract),
        body=body,
        data={"event": event, "contract": contract.pk, **data},
    )


def _milestone_event_data(milestone: Milestone) -> dict[str, Any]:
    return {
        "milestone": milestone.pk,
        "title": milestone.title,
        "amount": milestone.amount,
        "due_on": milestone.due_on.isoformat() if milestone.due_on else None,
    }


def _milestones_add(contract: Contract, milestones: list[MilestoneTerms]) -> list[Milestone]:
    """Add milestones to a contract and post one event each; caller is in a transaction."""
    start = contract.milestones.count()
    if start + len(milestones) > MILESTONES_MAX:
        raise invalid_field("milestones", f"At most {MILESTONES_MAX} milestones.")
    added = []
    for position, terms in enumerate(milestones, start=start):
        title = text_check(
            terms.title,
            field="milestones",
            max_length=PROJECT_TITLE_MAX,
            missing="Give every milestone a title.",
        )
        money_check(amount=terms.amount, currency=contract.currency, field="milestones")
        milestone = Milestone.objects.create(
            contract=contract,
            title=title,
            amount=terms.amount,
            due_on=terms.due_on,
            position=position,
        )
        due = f", due {milestone.due_on:%-d %B %Y}" if milestone.due_on else ""
        _contract_event(
            contract,
            f"Milestone added: {milestone.title}, "
            f"{format_amount(milestone.amount, contract.currency)}{due}.",
            "milestone_added",
            **_milestone_event_data(milestone),
        )
        added.append(milestone)
    return added


def _contract_start(
    *,
    engagement: Engagement,
    title: str,
    terms: str,
    amount: int,
    currency: str,
    kind: str,
    milestones: list[MilestoneTerms],
    proposal: Proposal | None = None,
    offer: Offer | None = None,
) -> Contract:
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                engagement=engagement,
                project=engagement.project,
                buyer=engagement.buyer,
                provider=engagement.provider,
                proposal=proposal,
                offer=offer,
                title=title,
                terms=terms,
                amount=amount,
                currency=currency,
                kind=kind,
            )
    except IntegrityError as exc:  # one_active_contract
        raise ApplicationError(
            MarketErrorCode.CONTRACT_ACTIVE,
            "These two have an active contract on this project already.",
        ) from exc
    _contract_event(
        contract,
        f"Contract started: {contract.title}, {format_amount(amount, currency)}"
        f"{' per hour' if kind == Project.BudgetKind.HOURLY else ''}.",
        "contract_started",
        amount=amount,
        currency=currency,
        kind=kind,
        proposal=proposal.pk if proposal else None,
        offer=offer.pk if offer else None,
    )
    _milestones_add(contract, milestones)
    return contract


def _fixed_milestones_check(milestones: list[MilestoneTerms], amount: int) -> None:
    total = sum(milestone.amount for milestone in milestones)
    if total != amount:
        raise invalid_field(
            "milestones", f"The milestones of a fixed price add up to it: {total} ≠ {amount}."
        )


@transaction.atomic
def proposal_accept(
    *, buyer: User, proposal_id: int, milestones: list[MilestoneTerms] | None = None
) -> Contract:
    """The buyer accepts a proposal: a contract on the proposal's terms, in the engagement's
    chatbox. Without milestones, a fixed price gets one for the whole amount, due after the
    proposal's duration; an hourly contract starts with none."""
    proposal = proposal_locked(proposal_id)
    proposal_buyer_check(proposal, buyer)
    project = Project.objects.select_for_update().get(pk=proposal.project_id)
    if project.status == Project.Status.CLOSED:
        raise ApplicationError(MarketErrorCode.PROJECT_NOT_OPEN, "This project is closed.")
    proposal_decide(proposal, Proposal.State.ACCEPTED)
    fixed = project.budget_kind == Project.BudgetKind.FIXED
    if milestones is None:
        due = timezone.localdate() + timedelta(days=proposal.duration_days)
        milestones = [MilestoneTerms(project.title, proposal.amount, due)] if fixed else []
    elif fixed:
        _fixed_milestones_check(milestones, proposal.amount)
    engagement = engagement_open(project=project, provider=proposal.provider)
    system_event_post(
        conversation_id=engagement.conversation_id,
        body=f"{buyer.name} accepted the proposal.",
        data=proposal_event_data(proposal, "proposal_accepted"),
    )
    contract = _contract_start(
        engagement=engagement,
        title=project.title,
        terms=proposal.cover_letter,
        amount=proposal.amount,
        currency=proposal.currency,
        kind=project.budget_kind,
        milestones=milestones,
        proposal=proposal,
    )
    if project.status == Project.Status.OPEN:
        project.status = Project.Status.IN_PROGRESS
        project.save(update_fields=["status", "updated_at"])
    return contract


# -- offers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferTerms:
    title: str
    included: str
    category: str
    price_amount: int
    price_currency: str
    delivery_days: int


@transaction.atomic
def offer_publish(*, provider: User, terms: OfferTerms) -> Offer:
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers publish offers.")
    standing_require(user=provider, doing="post offers")
    title = text_check(
        terms.title, field="title", max_length=PROJECT_TITLE_MAX, missing="Give the offer a title."
    )
    included = text_check(
        terms.included,
        field="included",
        max_length=PROJECT_DESCRIPTION_MAX,
        missing="Say what the price includes.",
    )
    if not 1 <= terms.delivery_days <= DURATION_DAYS_MAX:
        raise invalid_field("delivery_days", f"Between 1 and {DURATION_DAYS_MAX} days.")
    money_check(amount=terms.price_amount, currency=terms.price_currency, field="price")
    category = Category.objects.filter(slug=terms.category).first()
    if category is None:
        raise invalid_field(
            "category", f"Unknown category {terms.category!r}; see /api/categories/."
        )
    return Offer.objects.create(
        provider=provider,
        title=title,
        included=included,
        category=category,
        price_amount=terms.price_amount,
        price_currency=terms.price_currency,
        delivery_days=terms.delivery_days,
    )


@transaction.atomic
def offer_retire(*, provider: User, offer_id: int) -> Offer:
    offer = Offer.objects.select_for_update().filter(pk=offer_id, provider=provider).first()
    if offer is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, OFFER_NOT_FOUND)
    if offer.active:
        offer.active = False
        offer.save(update_fields=["active"])
    return offer


def offers_listed(*, category: str = "") -> QuerySet[Offer]:
    found = (
        Offer.objects.filter(active=True, provider__is_active=True)
        .exclude(provider__standing=User.Standing.BANNED)
        .select_related("provider", "category")
    )
    return found.filter(category__slug=category) if category else found


def offer_for_viewer(*, viewer: User, offer_id: int) -> Offer:
    offer = Offer.objects.select_related("provider", "category").filter(pk=offer_id).first()
    if offer is None or (not offer.active and offer.provider_id != viewer.pk):
        raise ApplicationError(ErrorCode.NOT_FOUND, OFFER_NOT_FOUND)
    return offer


@transaction.atomic
def offer_buy(*, buyer: User, offer_id: int) -> Contract:
    """A buyer buys an offer: a project of its own (not listed), its engagement and chatbox,
    and a fixed-price contract with one milestone due after the delivery time."""
    if not buyer.is_buyer:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only buyers buy offers.")
    standing_require(user=buyer, doing="buy offers")
    offer = Offer.objects.select_related("provider").filter(pk=offer_id).first()
    if offer is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, OFFER_NOT_FOUND)
    if offer.provider_id == buyer.pk:
        raise ApplicationError(MarketErrorCode.OWN_PROJECT, "You cannot buy your own offer.")
    # As offers_listed: an offer of a banned or closed account is no longer sold.
    if not offer.active or offer.provider.is_banned or not offer.provider.is_active:
        raise ApplicationError(MarketErrorCode.OFFER_INACTIVE, "This offer is no longer sold.")
    project = Project.objects.create(
        buyer=buyer,
        title=offer.title,
        description=offer.included,
        category=offer.category,
        budget_amount=offer.price_amount,
        budget_currency=offer.price_currency,
        budget_kind=Project.BudgetKind.FIXED,
        status=Project.Status.IN_PROGRESS,
        visibility=Project.Visibility.INVITE_ONLY,
        offer=offer,
    )
    engagement = engagement_open(project=project, provider=offer.provider)
    due = timezone.localdate() + timedelta(days=offer.delivery_days)
    return _contract_start(
        engagement=engagement,
        title=offer.title,
        terms=offer.included,
        amount=offer.price_amount,
        currency=offer.price_currency,
        kind=Project.BudgetKind.FIXED,
        milestones=[MilestoneTerms(offer.title, offer.price_amount, due)],
        offer=offer,
    )


# -- running a contract ------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementLinks:
    """Where a conversation belongs: its project and its latest contract, when it has them."""

    project_id: int | None = None
    contract_id: int | None = None


def engagement_links(
    *, viewer: User, conversation_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, EngagementLinks]:
    """The project and the latest contract (an active one first) of each conversation that
    belongs to an engagement. The caller has checked that the viewer is a member of each; the
    contract is named only to those ``contract_for_party`` lets in."""
    engagements = Engagement.objects.filter(
        conversation_id__in=list(conversation_ids)
    ).prefetch_related("contracts")
    found = {}
    for engagement in engagements:
        contract = None
        if viewer.pk in (engagement.buyer_id, engagement.provider_id) or viewer.is_staff_member:
            ranked = sorted(
                engagement.contracts.all(),
                key=lambda c: (c.is_active, c.started_at, c.pk),
                reverse=True,
            )
            contract = ranked[0] if ranked else None
        found[engagement.conversation_id] = EngagementLinks(
            project_id=engagement.project_id, contract_id=contract.pk if contract else None
        )
    return found


def conversations_of_project(*, project: Project) -> dict[int, uuid.UUID]:
    """The conversation of each provider engaged on a project, by provider id. The caller
    has the project from ``listings.project_for_viewer`` and shows it to its buyer."""
    return dict(
        Engagement.objects.filter(project=project).values_list("provider_id", "conversation_id")
    )


def contract_end_outcomes(*, contract: Contract, user: User) -> list[str]:
    """The outcomes a party may end a contract with: the buyer ``completed`` or ``cancelled``,
    the provider ``completed`` or ``withdrawn``."""
    other = (
        Contract.Outcome.CANCELLED if user.pk == contract.buyer_id else Contract.Outcome.WITHDRAWN
    )
    return [Contract.Outcome.COMPLETED.value, other.value]


def contract_for_party(*, user: User, contract_id: int) -> Contract:
    """The one door to a contract: its buyer, its provider and support staff."""
    contract = (
        Contract.objects.select_related("engagement", "project", "buyer", "provider")
        .prefetch_related("milestones")
        .filter(pk=contract_id)
        .first()
    )
    if contract is None or not (
        user.pk in (contract.buyer_id, contract.provider_id) or user.is_staff_member
    ):
        raise ApplicationError(ErrorCode.NOT_FOUND, CONTRACT_NOT_FOUND)
    return contract


def contracts_of(*, user: User) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(Q(buyer=user) | Q(provider=user))
        .select_related("engagement", "project", "buyer", "provider")
        .prefetch_related("milestones")
    )


def _contract_locked(*, user: User, contract_id: int) -> Contract:
    """The contract, row-locked, for one of its parties; ended contracts are refused."""
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("engagement", "buyer", "provider")
        .filter(pk=contract_id)
        .first()
    )
    if contract is None or user.pk not in (contract.buyer_id, contract.provider_id):
        raise ApplicationError(ErrorCode.NOT_FOUND, CONTRACT_NOT_FOUND)
    if not contract.is_active:
        raise ApplicationError(MarketErrorCode.CONTRACT_ENDED, "This contract has ended.")
    return contract


@transaction.atomic
def milestone_add(*, user: User, contract_id: int, terms: MilestoneTerms) -> Milestone:
    """Either party adds a milestone to an active contract (the buyer funds it later)."""
    contract = _contract_locked(user=user, contract_id=contract_id)
    return _milestones_add(contract, [terms])[0]


@transaction.atomic
def milestone_deliver(*, provider: User, contract_id: int, milestone_id: int) -> Milestone:
    """The provider marks a milestone's work delivered; on-time delivery is counted from it."""
    contract = _contract_locked(user=provider, contract_id=contract_id)
    if contract.provider_id != provider.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only the provider delivers milestones.")
    milestone = contract.milestones.select_for_update().filter(pk=milestone_id).first()
    if milestone is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such milestone.")
    if milestone.delivered_at is not None:
        raise ApplicationError(
            MarketErrorCode.ALREADY_DELIVERED, "This milestone is delivered already."
        )
    milestone.delivered_at = timezone.now()
    milestone.save(update_fields=["delivered_at"])
    _contract_event(
        contract,
        f"{provider.name} delivered the milestone: {milestone.title}.",
        "milestone_delivered",
        **_milestone_event_data(milestone),
        delivered_at=milestone.delivered_at.isoformat(),
    )
    return milestone


NOTE_MAX = 5_000


@transaction.atomic
def contract_end(*, user: User, contract_id: int, outcome: str, note: str = "") -> Contract:
    """Either party ends a contract. The buyer ends it as ``completed`` or ``cancelled``; the
    provider as ``completed`` once every milestone is delivered, else as ``withdrawn``, which
    is recorded with its time (the money side acts on it in the invoices issue)."""
    contract = _contract_locked(user=user, contract_id=contract_id)
    # Lock order as in proposal_accept: the project before the conversation.
    project = Project.objects.select_for_update().get(pk=contract.project_id)
    is_buyer = user.pk == contract.buyer_id
    allowed = contract_end_outcomes(contract=contract, user=user)
    if outcome not in allowed:
        raise invalid_field("outcome", f"End it as one of: {', '.join(allowed)}.")
    if len(note) > NOTE_MAX:
        raise invalid_field("note", f"At most {NOTE_MAX} characters.")
    if (
        not is_buyer
        and outcome == Contract.Outcome.COMPLETED
        and contract.milestones.filter(delivered_at__isnull=True).exists()
    ):
        raise invalid_field(
            "outcome",
            "Deliver every milestone before ending as completed, or end it as withdrawn.",
        )
    contract.state = Contract.State.ENDED
    contract.outcome = outcome
    contract.ended_at = timezone.now()
    contract.ended_by = user
    contract.end_note = note.strip()
    contract.save(update_fields=["state", "outcome", "ended_at", "ended_by", "end_note"])
    label = Contract.Outcome(outcome).label.lower()
    _contract_event(
        contract,
        f"{user.name} ended the contract ({label}).",
        "contract_ended",
        outcome=outcome,
        ended_by=user.pk,
        ended_at=contract.ended_at.isoformat(),
    )
    still_running = project.contracts.filter(state=Contract.State.ACTIVE).exists()
    if project.status == Project.Status.IN_PROGRESS and not still_running:
        project.status = Project.Status.CLOSED
        project.save(update_fields=["status", "updated_at"])
    return contract
