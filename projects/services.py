from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, models, transaction

from accounts.models import User
from chatbox import uploads
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Participant
from chatbox.services import Member, conversation_open
from chatbox.uploads import UploadErrorCode
from projects.models import (
    PORTFOLIO_FILE_FIELDS,
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
    """An item as an edit gives it: with the ``id`` of one of the provider's items, that item
    (and its file) is kept and changed; without, it is a new item."""

    title: str
    link: str = ""
    description: str = ""
    id: int | None = None


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
    items: Sequence[models.Model],
    *,
    name: str,
    found: Sequence[dict[str, list[str]]] = (),
    exclude: Sequence[str] = (),
) -> list[dict[str, list[str]]] | list[str]:
    """Per item, the errors ``found`` already and the model's own (but those of ``exclude``)."""
    if len(items) > PROFILE_ITEMS_MAX:
        return [f"At most {PROFILE_ITEMS_MAX} {name}."]
    found = found or [{} for _ in items]
    per_item = [
        {**known, **_model_errors(item, exclude=["profile", "position", *exclude])}
        for item, known in zip(items, found, strict=True)
    ]
    return per_item if any(per_item) else []


PORTFOLIO_ITEM_NOT_FOUND = "No such portfolio item."


def _portfolio_rows(
    entries: Sequence[PortfolioEntry], own: dict[int, PortfolioItem]
) -> tuple[list[PortfolioItem], list[dict[str, list[str]]]]:
    """The items an edit leaves, in its order, and per entry an error for an ``id`` that is not
    one of the provider's items (or is given twice). Kept items keep their file."""
    rows: list[PortfolioItem] = []
    errors: list[dict[str, list[str]]] = []
    seen: set[int] = set()
    for position, entry in enumerate(entries):
        row = own.get(entry.id) if entry.id is not None and entry.id not in seen else None
        missing = entry.id is not None and row is None
        errors.append({"id": [PORTFOLIO_ITEM_NOT_FOUND]} if missing else {})
        if entry.id is not None:
            seen.add(entry.id)
        row = row or PortfolioItem()
        row.title, row.link, row.description = entry.title, entry.link, entry.description
        row.position = position
        rows.append(row)
    return rows, errors


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
    an ``invalid`` error (with the offending ``fields``) stores nothing. Portfolio items given
    with their ``id`` are changed in place and keep their files; items left out go, with
    theirs.
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
    # The sealed columns are not read: a file is only ever kept or dropped with its item.
    own_items = {
        item.pk: item for item in profile.portfolio_items.defer("ciphertext", "wrapped_key")
    }
    portfolio_rows, portfolio_found = _portfolio_rows(portfolio, own_items)
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
    if portfolio_errors := _items_errors(
        portfolio_rows,
        name="portfolio items",
        found=portfolio_found,
        exclude=PORTFOLIO_FILE_FIELDS,
    ):
        errors["portfolio"] = portfolio_errors
    if credential_errors := _items_errors(credential_rows, name="credentials"):
        errors["credentials"] = credential_errors
    if errors:
        raise ApplicationError(ErrorCode.INVALID, "The profile is not valid.", errors)

    profile.save()
    profile.skills.set([known[slug] for slug in slugs])
    kept = [row for row in portfolio_rows if row.pk is not None]
    profile.portfolio_items.exclude(pk__in=[row.pk for row in kept]).delete()
    for row in kept:
        row.save(update_fields=["title", "link", "description", "position"])
    profile.credentials.all().delete()
    new_rows = [row for row in portfolio_rows if row.pk is None]
    for row in new_rows:
        row.profile = profile
    for credential in credential_rows:
        credential.profile = profile
    PortfolioItem.objects.bulk_create(new_rows)
    Credential.objects.bulk_create(credential_rows)
    return profile


# -- portfolio files -------------------------------------------------------------------------------

# What a portfolio file may be: sniffed from its bytes, never taken from its name or the client.
PORTFOLIO_FILE_TYPES = {
    uploads.JPEG: "JPEG",
    uploads.PNG: "PNG",
    uploads.WEBP: "WebP",
    uploads.GIF: "GIF",
    uploads.PDF: "PDF",
}


def portfolio_file_max_bytes() -> int:
    return int(settings.PORTFOLIO_FILE_MAX_BYTES)


def _portfolio_file_content(file: File) -> tuple[bytes, str]:
    """The bytes of an uploaded portfolio file and their sniffed type, or the refusal."""
    max_bytes = portfolio_file_max_bytes()
    content = uploads.read_at_most(file, max_bytes)
    if content is None:
        size = uploads.size_text(max_bytes)
        raise ApplicationError(
            UploadErrorCode.FILE_TOO_LARGE,
            f"The file is larger than {size}.",
            {"file": [f"At most {size}."], "max_bytes": max_bytes},
        )
    if not content:
        raise ApplicationError(
            UploadErrorCode.FILE_MISSING, "The file is empty.", {"file": ["The file is empty."]}
        )
    content_type = uploads.sniff(content, PORTFOLIO_FILE_TYPES)
    if content_type is None:
        raise ApplicationError(
            UploadErrorCode.FILE_TYPE_UNSUPPORTED,
            "The file must be a JPEG, PNG, WebP or GIF image or a PDF.",
            {"file": ["Upload a JPEG, PNG, WebP, GIF or PDF file."]},
        )
    return content, content_type


def _own_portfolio_item(*, provider: User, item_id: int) -> PortfolioItem:
    """The provider's item, locked after its profile: the order ``profile_update`` locks in."""
    profile = ProviderProfile.objects.select_for_update().filter(user=provider).first()
    item = (
        PortfolioItem.objects.select_for_update()
        .defer("ciphertext", "wrapped_key")
        .filter(profile=profile, pk=item_id)
        .first()
        if profile is not None
        else None
    )
    if item is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, PORTFOLIO_ITEM_NOT_FOUND)
    return item


@transaction.atomic
def portfolio_file_attach(*, provider: User, item_id: int, file: File | None) -> PortfolioItem:
    """Seal ``file`` into the portfolio item ``item_id`` of ``provider``, in place of the file
    it had. A refused file (missing, empty, too large, of a type not allowed) stores nothing:
    the item keeps what it had."""
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers have a profile.")
    if file is None:
        raise ApplicationError(
            UploadErrorCode.FILE_MISSING,
            "No file was attached.",
            {"file": ["Choose a file to upload."]},
        )
    content, content_type = _portfolio_file_content(file)
    item = _own_portfolio_item(provider=provider, item_id=item_id)
    item.file_seal(content)
    item.file_name = uploads.file_name_clean(file.name or "", content_type)
    item.file_content_type = content_type
    item.file_size = len(content)
    item.save(update_fields=PORTFOLIO_FILE_FIELDS)
    return item


@transaction.atomic
def portfolio_file_remove(*, provider: User, item_id: int) -> PortfolioItem:
    """Drop the file of the portfolio item ``item_id`` of ``provider``; the item stays. Removing
    a file that is not there changes nothing."""
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers have a profile.")
    item = _own_portfolio_item(provider=provider, item_id=item_id)
    if item.has_file:
        item.file_clear()
        item.save(update_fields=PORTFOLIO_FILE_FIELDS)
    return item
