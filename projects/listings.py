"""Listings and bids: projects, their search and recommendations, invitations, proposals and
the monthly free-bid quota.

Who sees a project (``project_for_viewer``): its buyer, support staff, and — for a public
listing — every signed-in member (only open ones are listed in search); an invite-only project
(or one made by buying an offer) also the providers invited to it or engaged on it. To anyone
else it is a 404, exactly like a missing one. See docs/marketplace.md.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services import standing_require
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.services import system_event_post
from projects.errors import MarketErrorCode
from projects.models import (
    AMOUNT_MAX,
    COVER_LETTER_MAX,
    DURATION_DAYS_MAX,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_TITLE_MAX,
    BidAllowance,
    Category,
    Engagement,
    Invitation,
    Project,
    Proposal,
    ProviderProfile,
    Skill,
)
from projects.money import CURRENCIES, format_amount
from projects.services import engagement_open

PROJECT_NOT_FOUND = "No such project."
PROPOSAL_NOT_FOUND = "No such proposal."
PROJECT_SKILLS_MAX = 10
LIST_LIMIT_MAX = 100
UNKNOWN_CURRENCY = "Use an ISO 4217 currency code, such as EUR or USD."


# -- budgets and terms -------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    amount: int
    currency: str
    kind: str = Project.BudgetKind.FIXED


def invalid_field(field: str, message: str) -> ApplicationError:
    return ApplicationError(ErrorCode.INVALID, "The request is not valid.", {field: [message]})


def text_check(value: str, *, field: str, max_length: int, missing: str = "") -> str:
    """``value`` stripped; refused when longer than ``max_length``, or empty when ``missing``
    (the message for an empty one) is given. Services check lengths themselves: the API's
    serializers are not the only door, and a column's limit must never surface as a 500."""
    value = value.strip()
    if missing and not value:
        raise invalid_field(field, missing)
    if len(value) > max_length:
        raise invalid_field(field, f"At most {max_length} characters.")
    return value


def money_check(*, amount: int, currency: str, field: str = "amount") -> None:
    """An amount in minor units of an ISO 4217 currency: positive, and not absurd."""
    if currency not in CURRENCIES:
        raise invalid_field("currency", UNKNOWN_CURRENCY)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise invalid_field(field, "Give a positive whole number of minor units (cents).")
    if amount > AMOUNT_MAX:
        raise invalid_field(field, f"At most {format_amount(AMOUNT_MAX, currency)}.")


def _category_and_skills(*, category: str, skills: list[str]) -> tuple[Category, list[Skill]]:
    found = Category.objects.filter(slug=category).first()
    if found is None:
        raise invalid_field("category", f"Unknown category {category!r}; see /api/categories/.")
    if len(skills) > PROJECT_SKILLS_MAX:
        raise invalid_field("skills", f"At most {PROJECT_SKILLS_MAX} skills.")
    known = {skill.slug: skill for skill in Skill.objects.filter(slug__in=skills)}
    unknown = [slug for slug in skills if slug not in known]
    if unknown:
        raise invalid_field("skills", f"Unknown skills: {', '.join(map(repr, unknown))}.")
    return found, [known[slug] for slug in dict.fromkeys(skills)]


# -- projects ----------------------------------------------------------------------------------


def _buyer_required(user: User) -> None:
    if not user.is_buyer:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only buyers post projects and invite.")
    standing_require(user=user, doing="post or invite")


@transaction.atomic
def project_post(
    *,
    buyer: User,
    title: str,
    description: str,
    category: str,
    skills: list[str],
    budget: Budget,
    visibility: str = Project.Visibility.PUBLIC,
) -> Project:
    """A buyer's new open listing. Unknown category or skills, or an absurd budget, store
    nothing."""
    _buyer_required(buyer)
    title = text_check(
        title, field="title", max_length=PROJECT_TITLE_MAX, missing="Give the project a title."
    )
    description = text_check(description, field="description", max_length=PROJECT_DESCRIPTION_MAX)
    if budget.kind not in Project.BudgetKind.values:
        raise invalid_field("budget", "The budget kind is 'fixed' or 'hourly'.")
    if visibility not in Project.Visibility.values:
        raise invalid_field("visibility", "Visibility is 'public' or 'invite_only'.")
    money_check(amount=budget.amount, currency=budget.currency, field="budget")
    found, chosen = _category_and_skills(category=category, skills=skills)
    project = Project.objects.create(
        buyer=buyer,
        title=title,
        description=description,
        category=found,
        budget_amount=budget.amount,
        budget_currency=budget.currency,
        budget_kind=budget.kind,
        visibility=visibility,
    )
    project.skills.set(chosen)
    return project


@transaction.atomic
def project_close(*, buyer: User, project_id: int) -> Project:
    """The buyer closes a listing: no more proposals; running contracts go on."""
    project = _project_of_buyer(buyer=buyer, project_id=project_id, lock=True)
    if project.status != Project.Status.CLOSED:
        project.status = Project.Status.CLOSED
        project.save(update_fields=["status", "updated_at"])
    return project


def _project_of_buyer(*, buyer: User, project_id: int, lock: bool = False) -> Project:
    projects = Project.objects.select_for_update() if lock else Project.objects.all()
    project = projects.filter(pk=project_id, buyer=buyer).first()
    if project is None:
        # The project may exist, but not as this buyer's: the same answer as a missing one.
        raise ApplicationError(ErrorCode.NOT_FOUND, PROJECT_NOT_FOUND)
    return project


def _viewer_may_see(*, viewer: User, project: Project) -> bool:
    if viewer.pk == project.buyer_id or viewer.is_staff_member:
        return True
    if project.visibility == Project.Visibility.PUBLIC:
        return True  # closed or in progress, it is still shown, though no longer listed
    return (
        Invitation.objects.filter(project=project, provider=viewer).exists()
        or Engagement.objects.filter(project=project, provider=viewer).exists()
    )


def project_for_viewer(*, viewer: User, project_id: int) -> Project:
    """The one door to a project; anyone who may not see it gets ``not_found``."""
    project = (
        Project.objects.select_related("buyer", "category")
        .prefetch_related("skills")
        .filter(pk=project_id)
        .first()
    )
    if project is None or viewer.is_banned or not _viewer_may_see(viewer=viewer, project=project):
        raise ApplicationError(ErrorCode.NOT_FOUND, PROJECT_NOT_FOUND)
    return project


def _listed() -> QuerySet[Project]:
    """Open public listings of buyers still on the marketplace."""
    return (
        Project.objects.filter(status=Project.Status.OPEN, visibility=Project.Visibility.PUBLIC)
        .exclude(buyer__standing=User.Standing.BANNED)
        .select_related("buyer", "category")
        .prefetch_related("skills")
    )


@dataclass(frozen=True)
class ProjectSearch:
    total: int
    projects: list[Project]
    limit: int
    offset: int


def projects_search(
    *,
    q: str = "",
    category: str = "",
    skill: str = "",
    budget_min: int | None = None,
    budget_max: int | None = None,
    currency: str = "",
    kind: str = "",
    limit: int = 20,
    offset: int = 0,
) -> ProjectSearch:
    """Open public listings, newest first. The budget range compares amounts in one currency:
    with a range and no currency, every currency's amount is compared as it is."""
    found = _listed()
    for word in q.split():
        found = found.filter(Q(title__icontains=word) | Q(description__icontains=word))
    if category:
        found = found.filter(category__slug=category)
    if skill:
        found = found.filter(skills__slug=skill)
    if currency:
        found = found.filter(budget_currency=currency)
    if kind:
        found = found.filter(budget_kind=kind)
    if budget_min is not None:
        found = found.filter(budget_amount__gte=budget_min)
    if budget_max is not None:
        found = found.filter(budget_amount__lte=budget_max)
    found = found.distinct().order_by("-created_at", "-pk")
    return ProjectSearch(
        total=found.count(),
        projects=list(found[offset : offset + limit]),
        limit=limit,
        offset=offset,
    )


def projects_recommended(*, provider: User, limit: int = 20) -> list[Project]:
    """Open listings ranked by how many of the provider's profile skills they ask for, then by
    recency; listings of the provider's own, or already bid on, are left out."""
    skills = Skill.objects.filter(profiles__user=provider)
    # A subquery: two conditions in one exclude() across a multi-valued relation need not
    # hold for the same proposal (another provider's live one would hide a withdrawn one's).
    bid_on = Proposal.objects.filter(provider=provider, state__in=_LIVE_PROPOSAL)
    found = (
        _listed()
        .exclude(buyer=provider)
        .exclude(pk__in=bid_on.values("project"))
        .annotate(overlap=Count("skills", filter=Q(skills__in=skills), distinct=True))
        .order_by("-overlap", "-created_at", "-pk")
    )
    return list(found[:limit])


def providers_recommended(
    *, buyer: User, project_id: int, limit: int = 20
) -> list[ProviderProfile]:
    """Public profiles to invite to a project, ranked by skill overlap, vetted first on a tie.
    A private profile never appears here."""
    project = _project_of_buyer(buyer=buyer, project_id=project_id)
    wanted = project.skills.all()
    found = (
        ProviderProfile.objects.filter(
            visibility=ProviderProfile.Visibility.PUBLIC, user__is_active=True
        )
        .exclude(user__standing=User.Standing.BANNED)
        .exclude(user=buyer)
        .annotate(overlap=Count("skills", filter=Q(skills__in=wanted), distinct=True))
        .filter(overlap__gt=0)
        .select_related("user")
        .order_by("-overlap", F("user__vetted_at").desc(nulls_last=True), "pk")
    )
    return list(found[:limit])


# -- invitations -------------------------------------------------------------------------------


@transaction.atomic
def invitation_send(
    *, buyer: User, project_id: int, provider_id: int, message: str = ""
) -> Invitation:
    """The buyer invites a provider to a project: the provider sees the project, bids on it
    for free, and the buyer may see the provider's private profile."""
    project = _project_of_buyer(buyer=buyer, project_id=project_id)
    if project.status == Project.Status.CLOSED:
        raise ApplicationError(MarketErrorCode.PROJECT_NOT_OPEN, "This project is closed.")
    provider = User.objects.filter(pk=provider_id, is_provider=True, is_active=True).first()
    if provider is None or provider.is_banned:
        raise invalid_field("provider", "No such provider.")
    if provider.pk == buyer.pk:
        raise ApplicationError(MarketErrorCode.OWN_PROJECT, "You cannot invite yourself.")
    try:
        with transaction.atomic():
            return Invitation.objects.create(
                project=project,
                provider=provider,
                message=text_check(message, field="message", max_length=COVER_LETTER_MAX),
            )
    except IntegrityError as exc:  # one_invitation_each
        raise ApplicationError(
            MarketErrorCode.ALREADY_INVITED, "This provider is invited already."
        ) from exc


def invitations_of_provider(*, provider: User) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(provider=provider)
        .exclude(project__status=Project.Status.CLOSED)
        .select_related("project", "project__buyer")
    )


# -- the free-bid quota ------------------------------------------------------------------------


@dataclass(frozen=True)
class BidQuota:
    quota: int
    used: int
    renews_on: date

    @property
    def left(self) -> int:
        return max(self.quota - self.used, 0)


def _month_of(moment: datetime) -> tuple[date, date]:
    """The first day of ``moment``'s month (UTC) and of the next one."""
    day = moment.astimezone(UTC).date()
    first = day.replace(day=1)
    days = calendar.monthrange(first.year, first.month)[1]
    return first, date.fromordinal(first.toordinal() + days)


def bid_quota_of(*, provider: User, now: datetime | None = None) -> BidQuota:
    month, renews_on = _month_of(now or timezone.now())
    allowance = BidAllowance.objects.filter(provider=provider, month=month).first()
    return BidQuota(
        quota=settings.BID_QUOTA_MONTHLY,
        used=allowance.used if allowance else 0,
        renews_on=renews_on,
    )


def _bid_spend(*, provider: User, now: datetime) -> BidQuota:
    """Spend one of this month's free bids. Caller is in a transaction.

    The month's row is inserted if missing, then locked: two proposals racing for the last
    bid queue on the lock, and the second sees the first's count.
    """
    month, renews_on = _month_of(now)
    BidAllowance.objects.bulk_create(
        [BidAllowance(provider=provider, month=month)], ignore_conflicts=True
    )
    allowance = BidAllowance.objects.select_for_update().get(provider=provider, month=month)
    quota = settings.BID_QUOTA_MONTHLY
    if allowance.used >= quota:
        raise ApplicationError(
            MarketErrorCode.BID_QUOTA_EXHAUSTED,
            f"You have used this month's {quota} free {'bid' if quota == 1 else 'bids'}; "
            f"they renew on {renews_on:%-d %B %Y}.",
            {"renews_on": renews_on.isoformat(), "quota": quota},
        )
    allowance.used += 1
    allowance.save(update_fields=["used"])
    return BidQuota(quota=quota, used=allowance.used, renews_on=renews_on)


# -- proposals ---------------------------------------------------------------------------------

_LIVE_PROPOSAL = [Proposal.State.SUBMITTED, Proposal.State.ACCEPTED]


@dataclass(frozen=True)
class ProposalTerms:
    cover_letter: str
    amount: int
    currency: str
    duration_days: int


@dataclass(frozen=True)
class Submitted:
    proposal: Proposal
    bids: BidQuota


@transaction.atomic
def proposal_submit(
    *, provider: User, project_id: int, terms: ProposalTerms, now: datetime | None = None
) -> Submitted:
    """A provider's bid. It costs one free bid of ``now``'s month (default: the present one)
    unless the provider was invited; it opens the engagement's chatbox (first contact) and is
    posted there as a system event.

    Refused, it stores nothing and spends no bid (the whole use case is one transaction).
    """
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers send proposals.")
    standing_require(user=provider, doing="bid")
    project = project_for_viewer(viewer=provider, project_id=project_id)
    # Locked so that a close (project_close) cannot slip between this check and the insert.
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.buyer_id == provider.pk:
        raise ApplicationError(MarketErrorCode.OWN_PROJECT, "You cannot bid on your own project.")
    if not project.is_open:
        raise ApplicationError(
            MarketErrorCode.PROJECT_NOT_OPEN, "This project takes no proposals now."
        )
    if not terms.cover_letter.strip():
        raise invalid_field("cover_letter", "Write a cover letter.")
    if len(terms.cover_letter) > COVER_LETTER_MAX:
        raise invalid_field("cover_letter", f"At most {COVER_LETTER_MAX} characters.")
    money_check(amount=terms.amount, currency=terms.currency)
    # Checked here, not left to the table's check constraint: the IntegrityError below is
    # taken for a concurrent twin proposal.
    if not 1 <= terms.duration_days <= DURATION_DAYS_MAX:
        raise invalid_field("duration_days", f"Between 1 and {DURATION_DAYS_MAX} days.")
    if Proposal.objects.filter(
        project=project, provider=provider, state__in=_LIVE_PROPOSAL
    ).exists():
        raise ApplicationError(
            MarketErrorCode.PROPOSAL_EXISTS, "You have a proposal on this project already."
        )
    now = now or timezone.now()
    invited = Invitation.objects.filter(project=project, provider=provider).exists()
    bids = (
        bid_quota_of(provider=provider, now=now)
        if invited
        else _bid_spend(provider=provider, now=now)
    )
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                project=project,
                provider=provider,
                cover_letter=terms.cover_letter.strip(),
                amount=terms.amount,
                currency=terms.currency,
                duration_days=terms.duration_days,
                costs_bid=not invited,
                created_at=now,
            )
    except IntegrityError as exc:  # one_live_proposal_each: a concurrent twin won
        raise ApplicationError(
            MarketErrorCode.PROPOSAL_EXISTS, "You have a proposal on this project already."
        ) from exc
    engagement = engagement_open(project=project, provider=provider)
    system_event_post(
        conversation_id=engagement.conversation_id,
        body=(
            f"{provider.name} sent a proposal: {format_amount(terms.amount, terms.currency)}, "
            f"{terms.duration_days} days."
        ),
        data=proposal_event_data(proposal, "proposal_sent"),
    )
    return Submitted(proposal=proposal, bids=bids)


def proposal_event_data(proposal: Proposal, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "proposal": proposal.pk,
        "project": proposal.project_id,
        "amount": proposal.amount,
        "currency": proposal.currency,
        "duration_days": proposal.duration_days,
    }


def proposal_locked(proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("project", "provider")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, PROPOSAL_NOT_FOUND)
    return proposal


def proposal_decide(proposal: Proposal, state: str) -> Proposal:
    """Move a submitted proposal to ``state``; caller holds its row lock."""
    if proposal.state != Proposal.State.SUBMITTED:
        raise ApplicationError(
            MarketErrorCode.PROPOSAL_NOT_PENDING,
            f"This proposal is {proposal.get_state_display().lower()} already.",
            {"state": proposal.state},
        )
    proposal.state = state
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["state", "decided_at"])
    return proposal


def _post_to_engagement(proposal: Proposal, body: str, event: str) -> None:
    engagement = Engagement.objects.get(project=proposal.project, provider=proposal.provider)
    system_event_post(
        conversation_id=engagement.conversation_id,
        body=body,
        data=proposal_event_data(proposal, event),
    )


@transaction.atomic
def proposal_withdraw(*, provider: User, proposal_id: int) -> Proposal:
    """The provider takes a proposal back; the bid it cost is not given back."""
    proposal = proposal_locked(proposal_id)
    if proposal.provider_id != provider.pk:
        if proposal.project.buyer_id == provider.pk:
            # The buyer sees the proposal: "no such proposal" would be a lie.
            raise ApplicationError(ErrorCode.FORBIDDEN, "Only its provider withdraws a proposal.")
        raise ApplicationError(ErrorCode.NOT_FOUND, PROPOSAL_NOT_FOUND)
    proposal_decide(proposal, Proposal.State.WITHDRAWN)
    _post_to_engagement(proposal, f"{provider.name} withdrew the proposal.", "proposal_withdrawn")
    return proposal


@transaction.atomic
def proposal_decline(*, buyer: User, proposal_id: int) -> Proposal:
    proposal = proposal_locked(proposal_id)
    proposal_buyer_check(proposal, buyer)
    proposal_decide(proposal, Proposal.State.DECLINED)
    _post_to_engagement(proposal, f"{buyer.name} declined the proposal.", "proposal_declined")
    return proposal


def proposal_buyer_check(proposal: Proposal, user: User) -> None:
    if proposal.project.buyer_id == user.pk:
        return
    if proposal.provider_id == user.pk:
        raise ApplicationError(
            ErrorCode.FORBIDDEN, "Only the project's buyer decides on a proposal."
        )
    raise ApplicationError(ErrorCode.NOT_FOUND, PROPOSAL_NOT_FOUND)


def proposals_of_project(*, buyer: User, project_id: int) -> QuerySet[Proposal]:
    """A project's proposals, for its buyer only."""
    project = _project_of_buyer(buyer=buyer, project_id=project_id)
    return Proposal.objects.filter(project=project).select_related("provider", "project")


def proposals_of_provider(*, provider: User) -> QuerySet[Proposal]:
    return Proposal.objects.filter(provider=provider).select_related("project", "project__buyer")


def proposal_for_party(*, user: User, proposal_id: int) -> Proposal:
    proposal = Proposal.objects.select_related("project", "provider").filter(pk=proposal_id).first()
    if proposal is None or user.pk not in (proposal.provider_id, proposal.project.buyer_id):
        raise ApplicationError(ErrorCode.NOT_FOUND, PROPOSAL_NOT_FOUND)
    return proposal
