"""Reads of the marketplace that need a permission check, and the taxonomy.

``profile_for_viewer`` is the one door to a provider profile: every page and endpoint that
shows a profile goes through it, so the visibility rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Prefetch, Q, QuerySet, Value, When
from django.db.models.fields import IntegerField

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Participant
from projects.models import Category, Invitation, PortfolioItem, ProviderProfile, Skill

PROFILE_NOT_FOUND = "No such profile."
SEARCH_LIMIT_MAX = 50


def categories_list() -> QuerySet[Category]:
    """The taxonomy, in its fixed order, each category with its skills."""
    return Category.objects.order_by("position", "slug").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.order_by("position", "slug"))
    )


def skills_by_slug(*, slugs: list[str]) -> dict[str, Skill]:
    return {skill.slug: skill for skill in Skill.objects.filter(slug__in=slugs)}


def _shown_profiles() -> QuerySet[ProviderProfile]:
    """Profiles of people still on the marketplace: a banned provider's profile is gone."""
    return (
        ProviderProfile.objects.filter(user__is_active=True)
        .exclude(user__standing=User.Standing.BANNED)
        .select_related("user")
    )


def _with_details(profiles: QuerySet[ProviderProfile]) -> QuerySet[ProviderProfile]:
    return profiles.prefetch_related(
        Prefetch("skills", queryset=Skill.objects.select_related("category")),
        # A profile shows what its files are, not their (sealed, up to 10 MB) bytes.
        Prefetch(
            "portfolio_items", queryset=PortfolioItem.objects.defer("ciphertext", "wrapped_key")
        ),
        "credentials",
    )


def buyer_is_connected(*, buyer: User, provider: User) -> bool:
    """Whether ``buyer`` is the buyer in a conversation that ``provider`` takes part in, or
    has invited ``provider`` to one of their projects."""
    return (
        Participant.objects.filter(
            user=buyer,
            role=Participant.Role.BUYER,
            conversation__participants__user=provider,
        ).exists()
        or Invitation.objects.filter(project__buyer=buyer, provider=provider).exists()
    )


def _may_see_private(*, viewer: User | None, provider: User) -> bool:
    if viewer is None:
        return False
    if viewer.pk == provider.pk or viewer.is_support:
        return True
    return buyer_is_connected(buyer=viewer, provider=provider)


def profile_for_viewer(*, viewer: User | None, username: str) -> ProviderProfile:
    """The profile of ``username`` as ``viewer`` may see it (``None``: an anonymous visitor).

    A public profile is shown to everyone; a private one only to its owner, support staff,
    and buyers who share a conversation with the provider. To anybody else a private profile
    raises ``not_found`` exactly like a missing one, so its existence does not leak.
    """
    if viewer is not None and (not viewer.is_authenticated or viewer.is_banned):
        viewer = None
    profile = _with_details(_shown_profiles()).filter(user__username=username).first()
    if profile is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, PROFILE_NOT_FOUND)
    if profile.is_public or _may_see_private(viewer=viewer, provider=profile.user):
        return profile
    raise ApplicationError(ErrorCode.NOT_FOUND, PROFILE_NOT_FOUND)


PORTFOLIO_FILE_NOT_FOUND = "No such file."


def portfolio_file_for_viewer(*, viewer: User | None, username: str, item_id: int) -> PortfolioItem:
    """The portfolio item ``item_id`` of ``username``'s profile, with its sealed file, for a
    viewer who may see the profile: the rules of ``profile_for_viewer``, so a private profile's
    file is ``not_found`` to strangers exactly like its profile. An item without a file is
    ``not_found`` too. The item's ``profile`` is the one checked."""
    profile = profile_for_viewer(viewer=viewer, username=username)
    item = PortfolioItem.objects.filter(profile=profile, pk=item_id).exclude(file_content_type="")
    found = item.first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, PORTFOLIO_FILE_NOT_FOUND)
    found.profile = profile
    return found


def profile_of_owner(*, user: User) -> ProviderProfile | None:
    """The signed-in provider's own profile, or ``None`` before they first save it."""
    return _with_details(ProviderProfile.objects.filter(user=user).select_related("user")).first()


@dataclass(frozen=True)
class ProviderSearch:
    total: int
    profiles: list[ProviderProfile]
    limit: int
    offset: int


def providers_search(
    *,
    q: str = "",
    skill: str = "",
    category: str = "",
    vetted_only: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> ProviderSearch:
    """Public profiles only, whoever searches: a private profile never appears in search.

    Vetted providers first, then the most recently updated profiles. ``q`` matches the name,
    the headline and the names of the skills; ``skill`` and ``category`` are slugs of the
    taxonomy, and an unknown one is an ``invalid`` error naming the field.
    """
    errors: dict[str, list[str]] = {}
    if skill and not Skill.objects.filter(slug=skill).exists():
        errors["skill"] = [f"Unknown skill: {skill!r}."]
    if category and not Category.objects.filter(slug=category).exists():
        errors["category"] = [f"Unknown category: {category!r}."]
    if errors:
        raise ApplicationError(ErrorCode.INVALID, "The search is not valid.", errors)
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    offset = max(0, offset)

    matches = _shown_profiles().filter(visibility=ProviderProfile.Visibility.PUBLIC)
    if vetted_only:
        matches = matches.filter(user__vetted_at__isnull=False)
    if skill:
        matches = matches.filter(skills__slug=skill)
    if category:
        matches = matches.filter(skills__category__slug=category)
    for word in q.split()[:8]:
        matches = matches.filter(
            Q(user__display_name__icontains=word)
            | Q(user__username__icontains=word)
            | Q(headline__icontains=word)
            | Q(skills__name__icontains=word)
        )
    # Joins through skills repeat a profile per matching skill: search ids, then fetch.
    ids = matches.values("pk").distinct()
    ordered = (
        _with_details(ProviderProfile.objects.filter(pk__in=ids).select_related("user"))
        .annotate(
            vetted_rank=Case(
                When(user__vetted_at__isnull=False, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("vetted_rank", "-updated_at", "pk")
    )
    total = ordered.count()
    return ProviderSearch(
        total=total, profiles=list(ordered[offset : offset + limit]), limit=limit, offset=offset
    )
