"""The marketplace's HTTP API (PROTOCOL.md §2): the taxonomy, provider profiles and their
portfolio files.

Views parse, call one selector or service, and serialise; the visibility rules live in
``projects.selectors.profile_for_viewer`` and every write in ``projects.services``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from chatbox import uploads
from chatbox.errors import ApplicationError, ErrorCode
from projects import selectors, services, track_record
from projects.assessments import assessments_passed
from projects.models import Category, PortfolioItem, ProviderProfile

# Raising invoices will require these verified (enforced where invoices are raised).
INVOICING_REQUIRES = ["email", "phone"]


def viewer_of(request: Request) -> User | None:
    """The signed-in user, or ``None`` for an anonymous visitor."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def signed_in(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# -- output ------------------------------------------------------------------------------------


class SkillSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class CategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    skills = SkillSerializer(many=True)


class ProfileSkillSerializer(SkillSerializer):
    category = serializers.CharField(source="category.slug")


class MoneySerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=0)
    currency = serializers.CharField()


class BadgesSerializer(serializers.Serializer):
    email = serializers.BooleanField()
    phone = serializers.BooleanField()
    id = serializers.BooleanField()
    business = serializers.BooleanField()
    vetted = serializers.BooleanField()


class PortfolioFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class PortfolioItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    link = serializers.CharField()
    description = serializers.CharField()
    file = PortfolioFileSerializer(allow_null=True)


class CredentialSerializer(serializers.Serializer):
    title = serializers.CharField()
    issuer = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()


class ProviderCardSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    headline = serializers.CharField()
    hourly_rate = MoneySerializer(allow_null=True)
    skills = ProfileSkillSerializer(many=True)
    badges = BadgesSerializer()


class PassedAssessmentSerializer(serializers.Serializer):
    skill = serializers.CharField()
    name = serializers.CharField()
    score = serializers.IntegerField()
    of = serializers.IntegerField()
    passed_at = serializers.DateTimeField()


class PerformanceSerializer(serializers.Serializer):
    contracts_ended = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)
    median_response_minutes = serializers.FloatField(allow_null=True)
    dispute_rate = serializers.FloatField(allow_null=True)
    average_rating = serializers.FloatField(allow_null=True)
    reviews = serializers.IntegerField()


class ReviewSerializer(serializers.Serializer):
    rating = serializers.IntegerField()
    text = serializers.CharField()
    contract = serializers.CharField(help_text="The contract's title.")
    author = serializers.CharField()
    created_at = serializers.DateTimeField()


class EndorsementSerializer(serializers.Serializer):
    name = serializers.CharField()
    relationship = serializers.CharField()
    text = serializers.CharField()
    given_at = serializers.DateTimeField()


class ProfileSerializer(ProviderCardSerializer):
    bio = serializers.CharField()
    visibility = serializers.ChoiceField(choices=ProviderProfile.Visibility.choices)
    portfolio = PortfolioItemSerializer(many=True)
    credentials = CredentialSerializer(many=True)
    invoicing_requires = serializers.ListField(child=serializers.CharField())
    assessments = PassedAssessmentSerializer(many=True)
    performance = PerformanceSerializer()
    reviews = ReviewSerializer(many=True)
    endorsements = EndorsementSerializer(many=True)
    updated_at = serializers.DateTimeField(allow_null=True)


def badges_of(user: User) -> dict[str, bool]:
    return {
        # E-mail verification is kept by django-allauth; the property comes with identity.
        "email": bool(getattr(user, "email_verified", False)),
        "phone": user.phone_verified,
        "id": user.id_verified,
        "business": user.business_verified,
        "vetted": user.is_vetted,
    }


def card_payload(profile: ProviderProfile) -> dict[str, Any]:
    saved = profile.pk is not None
    rate = (
        {"amount": profile.hourly_rate_amount, "currency": profile.hourly_rate_currency}
        if profile.hourly_rate_amount is not None
        else None
    )
    return {
        "username": profile.user.username,
        "name": profile.user.name,
        "headline": profile.headline,
        "hourly_rate": rate,
        "skills": [
            {"slug": s.slug, "name": s.name, "category": s.category.slug}
            for s in (profile.skills.all() if saved else [])
        ],
        "badges": badges_of(profile.user),
    }


def portfolio_file_url(item: PortfolioItem, username: str) -> str:
    return reverse("api-portfolio-file", kwargs={"username": username, "item_id": item.pk})


def portfolio_item_payload(item: PortfolioItem, username: str) -> dict[str, Any]:
    file = (
        {
            "name": item.file_name,
            "content_type": item.file_content_type,
            "size": item.file_size,
            "url": portfolio_file_url(item, username),
        }
        if item.has_file
        else None
    )
    return {
        "id": item.pk,
        "title": item.title,
        "link": item.link,
        "description": item.description,
        "file": file,
    }


def profile_payload(profile: ProviderProfile) -> dict[str, Any]:
    """The same for every viewer who may see it: "view as" shows exactly this."""
    saved = profile.pk is not None
    return {
        **card_payload(profile),
        "bio": profile.bio,
        "visibility": profile.visibility,
        "portfolio": [
            portfolio_item_payload(item, profile.user.username)
            for item in (profile.portfolio_items.all() if saved else [])
        ],
        "credentials": [
            {"title": c.title, "issuer": c.issuer, "year": c.year, "url": c.url}
            for c in (profile.credentials.all() if saved else [])
        ],
        "invoicing_requires": INVOICING_REQUIRES,
        "assessments": [
            {
                "skill": passed.skill.slug,
                "name": passed.skill.name,
                "score": passed.score,
                "of": len(passed.question_ids),
                "passed_at": passed.submitted_at.isoformat() if passed.submitted_at else None,
            }
            for passed in assessments_passed(provider=profile.user)
        ],
        **track_record_payload(profile.user),
        "updated_at": profile.updated_at.isoformat() if saved else None,
    }


def track_record_payload(provider: User) -> dict[str, Any]:
    """Reviews, endorsements and performance figures, computed from the record."""
    figures = track_record.performance_of(provider=provider)
    return {
        "performance": dataclasses.asdict(figures),
        "reviews": [
            {
                "rating": review.rating,
                "text": review.text,
                "contract": review.contract.title,
                "author": review.author.name,
                "created_at": review.created_at.isoformat(),
            }
            for review in track_record.reviews_of(user=provider)
        ],
        "endorsements": [
            {
                "name": endorsement.endorser_name,
                "relationship": endorsement.relationship,
                "text": endorsement.text,
                "given_at": endorsement.given_at.isoformat() if endorsement.given_at else None,
            }
            for endorsement in track_record.endorsements_of(provider=provider)
        ],
    }


# -- input -------------------------------------------------------------------------------------
# Types and shape only: lengths, slugs, currencies and link schemes are the service's to check,
# so that the API and the web form refuse the same things with the same messages.


class RateInput(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField(allow_blank=True, trim_whitespace=False)


class PortfolioInput(serializers.Serializer):
    # An item's id keeps it, and its file; an item without one is new.
    id = serializers.IntegerField(required=False, allow_null=True, default=None)
    title = serializers.CharField(allow_blank=True)
    link = serializers.CharField(allow_blank=True, default="")
    description = serializers.CharField(allow_blank=True, default="")


class CredentialInput(serializers.Serializer):
    title = serializers.CharField(allow_blank=True)
    issuer = serializers.CharField(allow_blank=True, default="")
    year = serializers.IntegerField(allow_null=True, default=None)
    url = serializers.CharField(allow_blank=True, default="")


class ProfileInput(serializers.Serializer):
    """A full replace: every key is required (a forgotten ``visibility`` must not go public)."""

    headline = serializers.CharField(allow_blank=True)
    bio = serializers.CharField(allow_blank=True)
    hourly_rate = RateInput(allow_null=True)
    skills = serializers.ListField(child=serializers.CharField(), max_length=100)
    visibility = serializers.CharField()
    portfolio = serializers.ListField(child=PortfolioInput(), max_length=100)
    credentials = serializers.ListField(child=CredentialInput(), max_length=100)


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    skill = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    category = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    vetted = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=selectors.SEARCH_LIMIT_MAX
    )
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


class SearchResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = ProviderCardSerializer(many=True)


# -- views -------------------------------------------------------------------------------------


class CategoryListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: CategorySerializer(many=True)})
    def get(self, request: Request) -> Response:
        categories: list[Category] = list(selectors.categories_list())
        return Response(CategorySerializer(categories, many=True).data)


VIEW_AS_PUBLIC = "public"


class ProfileDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "view_as",
                str,
                enum=[VIEW_AS_PUBLIC],
                description="`public`: the profile as a stranger sees it (404 if private).",
            )
        ],
        responses={200: ProfileSerializer},
    )
    def get(self, request: Request, username: str) -> Response:
        view_as = request.query_params.get("view_as")
        if view_as not in (None, VIEW_AS_PUBLIC):
            raise ApplicationError(
                ErrorCode.INVALID,
                "The request is not valid.",
                {"view_as": [f"Only {VIEW_AS_PUBLIC!r} is known."]},
            )
        # Seen as a stranger, nobody's connections or roles count.
        viewer = None if view_as == VIEW_AS_PUBLIC else viewer_of(request)
        profile = selectors.profile_for_viewer(viewer=viewer, username=username)
        return Response(profile_payload(profile))


class MyProfileView(APIView):
    """The signed-in provider's own profile; before the first save, an empty one."""

    def _own(self, request: Request) -> ProviderProfile:
        user = signed_in(request)
        if not user.is_provider:
            raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers have a profile.")
        return selectors.profile_of_owner(user=user) or ProviderProfile(user=user)

    @extend_schema(responses={200: ProfileSerializer})
    def get(self, request: Request) -> Response:
        return Response(profile_payload(self._own(request)))

    @extend_schema(request=ProfileInput, responses={200: ProfileSerializer})
    def put(self, request: Request) -> Response:
        form = ProfileInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        rate = data["hourly_rate"]
        services.profile_update(
            provider=signed_in(request),
            headline=data["headline"],
            bio=data["bio"],
            hourly_rate=services.HourlyRate(**rate) if rate is not None else None,
            skills=data["skills"],
            visibility=data["visibility"],
            portfolio=[services.PortfolioEntry(**item) for item in data["portfolio"]],
            credentials=[services.CredentialEntry(**item) for item in data["credentials"]],
        )
        return Response(profile_payload(self._own(request)))


class PortfolioFileUpload(serializers.Serializer):
    file = serializers.FileField(
        help_text="A JPEG, PNG, WebP or GIF image or a PDF; its bytes decide, not its name."
    )


class _AnyAccept(DefaultContentNegotiation):
    """A file answers as its own type whatever the client accepts (a browser asks ``image/*``
    for an ``<img>``); errors still answer JSON."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


def portfolio_file_response(item: PortfolioItem) -> HttpResponse:
    """The file as its sniffed type, never re-sniffed by the browser: an image inline, a PDF as
    a download; sandboxed; a private profile's file is never cached."""
    response = HttpResponse(item.file_open(), content_type=item.file_content_type)
    inline = item.file_content_type in uploads.IMAGE_TYPES
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=item.file_name
    ) or ("inline" if inline else "attachment")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    if item.profile.is_public:
        response["Cache-Control"] = "private, max-age=300"
    else:
        add_never_cache_headers(response)
    return response


FILE_RESPONSES = {
    (200, "application/octet-stream"): OpenApiTypes.BINARY,
    404: None,
}


class PortfolioFileView(APIView):
    """A portfolio item's file, for whoever may see the profile."""

    permission_classes = [AllowAny]
    content_negotiation_class = _AnyAccept

    @extend_schema(responses=FILE_RESPONSES)
    def get(self, request: Request, username: str, item_id: int) -> HttpResponse:
        item = selectors.portfolio_file_for_viewer(
            viewer=viewer_of(request), username=username, item_id=item_id
        )
        return portfolio_file_response(item)


@uploads.upload_view(max_file_bytes=services.portfolio_file_max_bytes)
class MyPortfolioFileView(APIView):
    """The file of one of the signed-in provider's portfolio items: upload (in place of the one
    it had), remove, read."""

    parser_classes = [MultiPartParser, FormParser]
    content_negotiation_class = _AnyAccept

    @extend_schema(responses=FILE_RESPONSES)
    def get(self, request: Request, item_id: int) -> HttpResponse:
        user = signed_in(request)
        item = selectors.portfolio_file_for_viewer(
            viewer=user, username=user.username, item_id=item_id
        )
        return portfolio_file_response(item)

    @extend_schema(
        request={"multipart/form-data": PortfolioFileUpload},
        responses={200: PortfolioItemSerializer},
        description="A JPEG, PNG, WebP or GIF image or a PDF of at most "
        "`PORTFOLIO_FILE_MAX_BYTES` (10 MB by default); the bytes decide the type, not the "
        "name or the client's content type. Answers the portfolio item.",
    )
    def post(self, request: Request, item_id: int) -> Response:
        user = signed_in(request)
        item = services.portfolio_file_attach(
            provider=user, item_id=item_id, file=request.FILES.get("file")
        )
        return Response(portfolio_item_payload(item, user.username))

    @extend_schema(responses={200: PortfolioItemSerializer})
    def delete(self, request: Request, item_id: int) -> Response:
        user = signed_in(request)
        item = services.portfolio_file_remove(provider=user, item_id=item_id)
        return Response(portfolio_item_payload(item, user.username))


class ProviderSearchView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[SearchQuery], responses={200: SearchResultSerializer})
    def get(self, request: Request) -> Response:
        query = SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.providers_search(
            q=query.validated_data["q"],
            skill=query.validated_data["skill"],
            category=query.validated_data["category"],
            vetted_only=query.validated_data["vetted"],
            limit=query.validated_data["limit"],
            offset=query.validated_data["offset"],
        )
        return Response(
            {
                "count": found.total,
                "limit": found.limit,
                "offset": found.offset,
                "results": [card_payload(profile) for profile in found.profiles],
            }
        )
