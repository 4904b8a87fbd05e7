from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Participant
from chatbox.services import Member, conversation_open
from projects.models import (
    Credential,
    Engagement,
    PortfolioItem,
    Project,
    ProviderProfile,
    Skill,
)
from projects.money import CURRENCIES
from projects.selectors import skills_by_slug


@transaction.atomic
def project_create(*, buyer: User, title: str, description: str = "") -> Project:
    return Project.objects.create(buyer=buyer, title=title, description=description)


def engagement_open(*, project: Project, provider: User) -> Engagement:
    """The engagement of ``provider`` on ``project``, opened with its conversation on first contact.

    Two opens at the same moment give one engagement: the unique constraint lets one insert
    win, and the loser's transaction (with the conversation it made) rolls back.
    """
    if provider.pk == project.buyer_id:
        raise ApplicationError(ErrorCode.INVALID, "A buyer cannot engage on their own project.")
    existing = Engagement.objects.filter(project=project, provider=provider).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            conversation = conversation_open(
                title=project.title,
                members=[
                    Member(project.buyer, Participant.Role.BUYER),
                    Member(provider, Participant.Role.PROVIDER),
                ],
            )
            return Engagement.objects.create(
                project=project, buyer=project.buyer, provider=provider, conversation=conversation
            )
    except IntegrityError:
        return Engagement.objects.get(project=project, provider=provider)


# -- provider profiles -----------------------------------------------------------------------------

PROFILE_SKILLS_MAX = 20
PROFILE_ITEMS_MAX = 20


@dataclass(frozen=True)
class HourlyRate:
    amount: int
    currency: str


@dataclass(frozen=True)
class PortfolioEntry:
    title: str
    link: str = ""
    description: str = ""


@dataclass(frozen=True)
class CredentialEntry:
    title: str
    issuer: str = ""
    year: int | None = None
    url: str = ""


FieldErrors = dict[str, Any]


def _model_errors(instance: models.Model, *, exclude: list[str]) -> dict[str, list[str]]:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {}


def _rate_errors(rate: HourlyRate | None, profile_errors: dict[str, list[str]]) -> FieldErrors:
    errors: FieldErrors = {}
    if "hourly_rate_amount" in profile_errors:
        errors["amount"] = profile_errors.pop("hourly_rate_amount")
    if "hourly_rate_currency" in profile_errors:
        errors["currency"] = profile_errors.pop("hourly_rate_currency")
    elif rate is not None and rate.currency not in CURRENCIES:
        errors["currency"] = [f"Unknown currency: {rate.currency!r}."]
    return errors


def _skills_errors(slugs: Sequence[str], known: dict[str, Skill]) -> list[str]:
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        return [f"Unknown skill: {', '.join(repr(slug) for slug in unknown)}."]
    if len(slugs) > PROFILE_SKILLS_MAX:
        return [f"At most {PROFILE_SKILLS_MAX} skills."]
    return []


def _items_errors(
    items: Sequence[models.Model], *, name: str
) -> list[dict[str, list[str]]] | list[str]:
    if len(items) > PROFILE_ITEMS_MAX:
        return [f"At most {PROFILE_ITEMS_MAX} {name}."]
    per_item = [_model_errors(item, exclude=["profile", "position"]) for item in items]
    return per_item if any(per_item) else []


@transaction.atomic
def profile_update(
    *,
    provider: User,
    headline: str,
    bio: str,
    hourly_rate: HourlyRate | None,
    skills: Sequence[str],
    visibility: str,
    portfolio: Sequence[PortfolioEntry],
    credentials: Sequence[CredentialEntry],
) -> ProviderProfile:
    """Replace the whole of ``provider``'s profile, creating it on first save.

    Everything is checked before anything is written, and it all happens in one transaction:
    an ``invalid`` error (with the offending ``fields``) stores nothing.
    """
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers have a profile.")
    slugs = list(dict.fromkeys(skills))  # the order given, without repeats
    known = skills_by_slug(slugs=slugs)
    # get_or_create settles two first saves at once; the row lock orders later saves. On an
    # error below, the transaction rolls a just-created row back with everything else.
    ProviderProfile.objects.get_or_create(user=provider)
    profile = ProviderProfile.objects.select_for_update().get(user=provider)
    profile.headline = headline
    profile.bio = bio
    profile.visibility = visibility
    profile.hourly_rate_amount = hourly_rate.amount if hourly_rate else None
    profile.hourly_rate_currency = hourly_rate.currency if hourly_rate else ""
    portfolio_rows = [
        PortfolioItem(title=e.title, link=e.link, description=e.description, position=n)
        for n, e in enumerate(portfolio)
    ]
    credential_rows = [
        Credential(title=e.title, issuer=e.issuer, year=e.year, url=e.url, position=n)
        for n, e in enumerate(credentials)
    ]

    errors: FieldErrors = {}
    profile_errors = _model_errors(profile, exclude=["user"])
    if rate_errors := _rate_errors(hourly_rate, profile_errors):
        errors["hourly_rate"] = rate_errors
    errors.update(profile_errors)
    if skill_errors := _skills_errors(slugs, known):
        errors["skills"] = skill_errors
    if portfolio_errors := _items_errors(portfolio_rows, name="portfolio items"):
        errors["portfolio"] = portfolio_errors
    if credential_errors := _items_errors(credential_rows, name="credentials"):
        errors["credentials"] = credential_errors
    if errors:
        raise ApplicationError(ErrorCode.INVALID, "The profile is not valid.", errors)

    profile.save()
    profile.skills.set([known[slug] for slug in slugs])
    profile.portfolio_items.all().delete()
    profile.credentials.all().delete()
    for row in portfolio_rows + credential_rows:
        row.profile = profile
    PortfolioItem.objects.bulk_create(portfolio_rows)
    Credential.objects.bulk_create(credential_rows)
    return profile
