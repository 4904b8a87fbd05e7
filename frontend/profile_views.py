"""Pages of provider profiles: a profile, its editor (with the files of its portfolio
items), and the search for providers.

Thin like the chat pages: every read goes through ``projects.selectors`` (the one door that
decides who sees a profile) and every write through ``projects.services`` (``profile_update``,
``portfolio_file_attach``, ``portfolio_file_remove``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import http_status
from accounts.models import User
from chatbox import uploads
from chatbox.errors import ApplicationError, ErrorCode
from projects import selectors, track_record
from projects.assessments import assessments_passed
from projects.models import PortfolioItem, ProviderProfile
from projects.money import format_amount, minor_unit_digits, parse_major
from projects.services import (
    PORTFOLIO_FILE_TYPES,
    PROFILE_ITEMS_MAX,
    CredentialEntry,
    HourlyRate,
    PortfolioEntry,
    portfolio_file_attach,
    portfolio_file_max_bytes,
    portfolio_file_remove,
    profile_update,
)

PAGE_SIZE = 20
BLANK_ROWS = 2  # empty portfolio and credential rows offered for new entries


def _viewer(request: HttpRequest) -> User | None:
    user = request.user
    return cast(User, user) if user.is_authenticated else None


def _badges(user: User) -> list[str]:
    """The badges a profile shows, in the words a buyer reads."""
    earned = [
        ("E-mail verified", bool(getattr(user, "email_verified", False))),
        ("Phone verified", user.phone_verified),
        ("ID verified", user.id_verified),
        ("Business verified", user.business_verified),
        ("Vetted", user.is_vetted),
    ]
    return [label for label, held in earned if held]


def _rate(profile: ProviderProfile) -> str:
    if profile.hourly_rate_amount is None:
        return ""
    return f"{format_amount(profile.hourly_rate_amount, profile.hourly_rate_currency)} per hour"


# -- a profile -----------------------------------------------------------------------------------


@never_cache
@require_GET
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """``?view_as=public`` shows the page exactly as a stranger gets it."""
    viewer = _viewer(request)
    view_as_public = request.GET.get("view_as") == "public"
    is_owner = viewer is not None and viewer.username == username
    try:
        shown = selectors.profile_for_viewer(
            viewer=None if view_as_public else viewer, username=username
        )
    except ApplicationError as error:
        if view_as_public and is_owner:
            # What a stranger gets is "not found"; the owner is told why, with the same status.
            return render(request, "frontend/profile_hidden.html", status=404)
        raise Http404(error.message) from error
    context = {
        "profile": shown,
        "provider": shown.user,
        "badges": _badges(shown.user),
        "rate": _rate(shown),
        "assessments": assessments_passed(provider=shown.user),
        "performance": track_record.performance_of(provider=shown.user),
        "reviews": track_record.reviews_of(user=shown.user),
        "endorsements": track_record.endorsements_of(provider=shown.user),
        "is_owner": is_owner and not view_as_public,
        "view_as_public": view_as_public and is_owner,
    }
    return render(request, "frontend/profile.html", context)


# -- the editor ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One portfolio or credential row of the form, with its errors. A saved portfolio item's
    row carries its ``id`` (a hidden field), so that saving keeps the item and its file."""

    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    id: str = ""


def _rows(data: QueryDict, prefix: str, names: list[str]) -> list[Row]:
    rows = []
    for index in range(PROFILE_ITEMS_MAX + BLANK_ROWS):
        if f"{prefix}-{index}-title" not in data:
            break
        rows.append(
            Row(
                {name: data.get(f"{prefix}-{index}-{name}", "").strip() for name in names},
                id=data.get(f"{prefix}-{index}-id", "").strip(),
            )
        )
    return rows


def _filled(rows: list[Row]) -> list[Row]:
    return [row for row in rows if any(row.values.values())]


PORTFOLIO_FIELDS = ["title", "link", "description"]
CREDENTIAL_FIELDS = ["title", "issuer", "year", "url"]


def _form_from_profile(own: ProviderProfile) -> dict[str, Any]:
    saved = own.pk is not None
    currency = own.hourly_rate_currency or "EUR"
    amount = own.hourly_rate_amount
    return {
        "headline": own.headline,
        "bio": own.bio,
        "rate": (
            "" if amount is None else format_amount(amount, currency).split(" ")[0].replace(",", "")
        ),
        "currency": currency,
        "visibility": own.visibility,
        "skills": {s.slug for s in own.skills.all()} if saved else set(),
        "portfolio": [
            Row({"title": i.title, "link": i.link, "description": i.description}, id=str(i.pk))
            for i in (own.portfolio_items.all() if saved else [])
        ],
        "credentials": [
            Row(
                {
                    "title": c.title,
                    "issuer": c.issuer,
                    "year": "" if c.year is None else str(c.year),
                    "url": c.url,
                }
            )
            for c in (own.credentials.all() if saved else [])
        ],
    }


def _form_from_post(data: QueryDict) -> dict[str, Any]:
    return {
        "headline": data.get("headline", "").strip(),
        "bio": data.get("bio", "").strip(),
        "rate": data.get("rate", "").strip(),
        "currency": data.get("currency", "").strip().upper(),
        "visibility": data.get("visibility", ""),
        "skills": set(data.getlist("skills")),
        "portfolio": _filled(_rows(data, "portfolio", PORTFOLIO_FIELDS)),
        "credentials": _filled(_rows(data, "credential", CREDENTIAL_FIELDS)),
    }


def _save(provider: User, form: dict[str, Any]) -> dict[str, Any]:
    """Save the form through the service; the errors by field (empty when saved)."""
    errors: dict[str, Any] = {}
    rate: HourlyRate | None = None
    if form["rate"]:
        amount = parse_major(form["rate"], form["currency"])
        if amount is None:
            digits = minor_unit_digits(form["currency"])
            errors["rate"] = [f"Enter an amount with at most {digits} decimals, like 45.00."]
        else:
            rate = HourlyRate(amount=amount, currency=form["currency"])
    years: list[int | None] = []
    for row in form["credentials"]:
        year = row.values["year"]
        if year and not year.isdigit():
            row.errors["year"] = ["Enter a year, like 2019."]
        years.append(int(year) if year.isdigit() else None)
    if errors or any(row.errors for row in form["credentials"]):
        return errors or {"credentials": True}
    try:
        profile_update(
            provider=provider,
            headline=form["headline"],
            bio=form["bio"],
            hourly_rate=rate,
            skills=sorted(form["skills"]),
            visibility=form["visibility"],
            portfolio=[
                PortfolioEntry(id=int(row.id) if row.id.isdigit() else None, **row.values)
                for row in form["portfolio"]
            ],
            credentials=[
                CredentialEntry(
                    title=row.values["title"],
                    issuer=row.values["issuer"],
                    year=year,
                    url=row.values["url"],
                )
                for row, year in zip(form["credentials"], years, strict=True)
            ],
        )
    except ApplicationError as error:
        if error.code != ErrorCode.INVALID:
            raise
        return _attach(error.extra, form)
    return {}


def _attach(fields: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """Spread the service's field errors over the form: rows keep their own."""
    errors = dict(fields)
    for key, rows in (("portfolio", form["portfolio"]), ("credentials", form["credentials"])):
        found = errors.get(key)
        if isinstance(found, list) and found and isinstance(found[0], dict):
            for row, row_errors in zip(rows, found, strict=False):
                row.errors = row_errors
                if "id" in row_errors:
                    row.id = ""  # the item is gone (another tab): saving again adds it anew
            errors[key] = True  # shown on the rows
    rate = errors.pop("hourly_rate", None)
    if isinstance(rate, dict):
        errors["rate"] = rate.get("amount", [])
        if "currency" in rate:
            errors["currency"] = rate["currency"]
    return errors


@dataclass
class PortfolioFileRow:
    """A saved portfolio item in the editor's "Portfolio files" section."""

    item: PortfolioItem
    errors: list[str]

    @property
    def kind(self) -> str:
        return PORTFOLIO_FILE_TYPES.get(self.item.file_content_type, "")


FILE_NOTICES = {"attached": "The file is saved.", "removed": "The file is removed."}


def _editor_page(
    request: HttpRequest,
    form: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
    *,
    own: ProviderProfile | None = None,
    file_errors: dict[int, list[str]] | None = None,
) -> HttpResponse:
    def with_blanks(rows: list[Row], names: list[str]) -> list[Row]:
        free = max(0, min(BLANK_ROWS, PROFILE_ITEMS_MAX - len(rows)))
        return rows + [Row(dict.fromkeys(names, "")) for _ in range(free)]

    # Files belong to saved items: the section shows what is stored, whatever the form holds.
    own = own or selectors.profile_of_owner(user=cast(User, request.user))
    file_errors = file_errors or {}
    context = {
        "form": form,
        "errors": errors,
        "categories": list(selectors.categories_list()),
        "portfolio_rows": with_blanks(form["portfolio"], PORTFOLIO_FIELDS),
        "credential_rows": with_blanks(form["credentials"], CREDENTIAL_FIELDS),
        "visibility_choices": ProviderProfile.Visibility.choices,
        "saved": request.GET.get("saved") == "1" and not errors,
        "portfolio_files": [
            PortfolioFileRow(item, file_errors.get(item.pk, []))
            for item in (own.portfolio_items.all() if own else [])
        ],
        "file_max": uploads.size_text(portfolio_file_max_bytes()),
        "file_notice": "" if file_errors else FILE_NOTICES.get(request.GET.get("file", ""), ""),
    }
    return render(request, "frontend/profile_edit.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    provider = cast(User, request.user)
    if not provider.is_provider:
        return render(request, "frontend/profile_not_provider.html", status=403)
    if request.method == "POST":
        form = _form_from_post(request.POST)
        errors = _save(provider, form)
        if not errors:
            return redirect("/profile/edit/?saved=1")
        return _editor_page(request, form, errors, status=400)
    own = selectors.profile_of_owner(user=provider)
    return _editor_page(
        request, _form_from_profile(own or ProviderProfile(user=provider)), {}, own=own
    )


# -- the files of portfolio items ----------------------------------------------------------------


def _file_change(
    request: HttpRequest, item_id: int, change: Callable[[User], object], outcome: str
) -> HttpResponse:
    """Run ``change`` (a service call) for the signed-in provider; then back to the editor, or
    the editor with the refusal shown at the item's file field."""
    provider = cast(User, request.user)
    if not provider.is_provider:
        return render(request, "frontend/profile_not_provider.html", status=403)
    try:
        change(provider)
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        lines = [str(line) for line in error.extra.get("file", [])] or [error.message]
        own = selectors.profile_of_owner(user=provider)
        form = _form_from_profile(own or ProviderProfile(user=provider))
        status = error.status or http_status(error.code)
        return _editor_page(request, form, {}, status, own=own, file_errors={item_id: lines})
    return redirect(f"{reverse('frontend:profile_edit')}?file={outcome}#portfolio-files")


@uploads.upload_view(max_file_bytes=portfolio_file_max_bytes)
@never_cache
@require_POST
@login_required
def portfolio_file_upload(request: HttpRequest, item_id: int) -> HttpResponse:
    return _file_change(
        request,
        item_id,
        lambda provider: portfolio_file_attach(
            provider=provider, item_id=item_id, file=request.FILES.get("file")
        ),
        "attached",
    )


@never_cache
@require_POST
@login_required
def portfolio_file_delete(request: HttpRequest, item_id: int) -> HttpResponse:
    return _file_change(
        request,
        item_id,
        lambda provider: portfolio_file_remove(provider=provider, item_id=item_id),
        "removed",
    )


# -- search --------------------------------------------------------------------------------------


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default


@never_cache
@require_GET
def providers(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    skill = request.GET.get("skill", "")
    category = request.GET.get("category", "")
    vetted = request.GET.get("vetted") == "true"
    query = {"q": q, "skill": skill, "category": category, "vetted": vetted}
    offset = _int(request.GET.get("offset"), 0)
    context: dict[str, Any] = {"query": query, "categories": list(selectors.categories_list())}
    try:
        found = selectors.providers_search(
            q=q, skill=skill, category=category, vetted_only=vetted, limit=PAGE_SIZE, offset=offset
        )
    except ApplicationError as error:
        context["errors"] = error.extra
        return render(request, "frontend/providers.html", context, status=400)
    params = request.GET.copy()
    params.pop("offset", None)
    context.update(
        {
            "searched": True,
            "results": [
                {"profile": p, "badges": _badges(p.user), "rate": _rate(p)} for p in found.profiles
            ],
            "total": found.total,
            "first": found.offset + 1,
            "last": found.offset + len(found.profiles),
            "previous_offset": max(0, found.offset - PAGE_SIZE) if found.offset else None,
            "next_offset": (
                found.offset + PAGE_SIZE if found.offset + PAGE_SIZE < found.total else None
            ),
            "params": params.urlencode(),
        }
    )
    return render(request, "frontend/providers.html", context)
