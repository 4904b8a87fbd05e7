"""The marketplace's pages: listings, proposals, offers, contracts and the track record.

Reads go through the selectors of ``projects.listings``, ``projects.contracts`` and
``projects.track_record``, writes through their services, as the API does. A form posts to
its own URL; refused by a service, the page comes again with the service's messages at the
fields they name (status as the API gives it: 400, 403, 409, 429), and a thing the viewer may
not see is a 404. After a change the browser is redirected (post/redirect/get) and the page
says what happened in a ``role="status"`` notice. See docs/frontend.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import http_status
from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.realtime import close_user_sockets
from frontend.form_tokens import form_token_issue
from frontend.views import BANNED
from invoices.selectors import PAYMENT_METHODS, contract_ledger_for_party
from projects import contracts, listings, track_record
from projects.cautions import listing_cautions
from projects.models import (
    COVER_LETTER_MAX,
    DURATION_DAYS_MAX,
    PROJECT_DESCRIPTION_MAX,
    PROJECT_TITLE_MAX,
    REVIEW_TEXT_MAX,
    TITLE_MAX,
    Contract,
    Endorsement,
    Offer,
    Project,
    Proposal,
)
from projects.money import CURRENCIES, minor_unit_digits, parse_major
from projects.selectors import categories_list
from reports.disputes import dispute_open_on

PAGE_SIZE = 20
DEFAULT_CURRENCY = "EUR"
QUERY_MAX = 200
SLUG_MAX = 50

T = TypeVar("T")
View = Callable[..., HttpResponse]
FormErrors = dict[str, list[str]]


# -- frame: who may come, what a refusal looks like --------------------------------------------


def member_page(view: View) -> View:
    """Signed in and not banned. A session that outlived a ban is ended here, as on the other
    pages of the web app: first the session, then the user's sockets."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        viewer = _viewer(request)
        if viewer.is_banned:
            logout(request)
            close_user_sockets(user_id=viewer.pk)
            return _refused(request, "Signed out", BANNED)
        return view(request, *args, **kwargs)

    return login_required(checked)


def _viewer(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refused(request: HttpRequest, heading: str, message: str) -> HttpResponse:
    """A page for the wrong role: a buyer on a provider's page, or the other way round."""
    context = {"heading": heading, "message": message}
    return render(request, "frontend/market/refused.html", context, status=403)


def _seen(find: Callable[[], T]) -> T:
    """A selector's answer, or the 404 page when the viewer may not see the thing."""
    try:
        return find()
    except ApplicationError as error:
        raise Http404(error.message) from error


def _status(error: ApplicationError) -> int:
    return error.status or http_status(error.code)


@dataclass
class Form:
    """What a form holds and what is wrong with it: errors by field name, and under ``form``
    the ones that belong to no field."""

    values: dict[str, Any]
    errors: FormErrors = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def refused_by(self, error: ApplicationError, fields: Mapping[str, str]) -> int:
        """Spread a service's refusal over the form: the errors of the fields it names at the
        form's fields (``fields`` maps the service's names to the form's), the rest above the
        form. Returns the status to answer with; a thing not found is a 404."""
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message)
        if error.code == ErrorCode.INVALID:
            for name, lines in error.extra.items():
                if isinstance(lines, list):
                    self.errors.setdefault(fields.get(name, "form"), []).extend(map(str, lines))
        if not self.errors:
            self.errors["form"] = [error.message]
        return _status(error)


def _text(data: QueryDict, name: str) -> str:
    return str(data.get(name, "")).strip()


def _required_check(form: Form, missing: Mapping[str, str]) -> None:
    """Refuse the empty fields the service would refuse too, so that every error of the form
    shows at once, not one after the other."""
    for name, message in missing.items():
        if not form.values[name]:
            form.refuse(name, message)


def _length_check(form: Form, limits: Mapping[str, int]) -> None:
    for name, limit in limits.items():
        if len(form.values[name]) > limit:
            form.refuse(name, f"At most {limit:,} characters.")


def _minor_units(form: Form, name: str, currency: str, *, required: bool = True) -> int | None:
    """The form's amount ``name``, typed in major units (``450.50``), in minor units."""
    text = form.values[name]
    if not text:
        if required:
            form.refuse(name, "Enter an amount.")
        return None
    amount = parse_major(text, currency)
    if amount is None:
        digits = minor_unit_digits(currency)
        example = "450" if digits == 0 else "450." + "0" * digits
        form.refuse(name, f"Enter an amount like {example}, with at most {digits} decimals.")
    return amount


def _whole_number(form: Form, name: str, low: int, high: int) -> int | None:
    text = form.values[name]
    if not text.isdigit() or not low <= int(text) <= high:
        form.refuse(name, f"Enter a whole number from {low:,} to {high:,}.")
        return None
    return int(text)


def _currencies() -> list[str]:
    return sorted(CURRENCIES)


# -- projects: search, post, the listing page ---------------------------------------------------

PROJECT_FIELDS = {
    "title": "title",
    "description": "description",
    "category": "category",
    "skills": "skills",
    "budget": "amount",
    "currency": "currency",
    "visibility": "visibility",
}


def _search_form(query: QueryDict) -> tuple[Form, dict[str, Any]]:
    """The search filters as typed, and as ``projects_search`` takes them."""
    form = Form(
        {
            "q": _text(query, "q")[:QUERY_MAX],
            "category": _text(query, "category")[:SLUG_MAX],
            "skill": _text(query, "skill")[:SLUG_MAX],
            "budget_min": _text(query, "budget_min"),
            "budget_max": _text(query, "budget_max"),
            "currency": _text(query, "currency").upper()[:3],
            "kind": _text(query, "kind"),
        }
    )
    values = form.values
    if values["kind"] and values["kind"] not in Project.BudgetKind.values:
        form.refuse("kind", "Choose fixed price or hourly rate.")
    currency = values["currency"]
    if currency and currency not in CURRENCIES:
        form.refuse("currency", "Choose a currency from the list.")
    if (values["budget_min"] or values["budget_max"]) and not currency:
        form.refuse("currency", "Choose a currency to search by budget.")
    low = _minor_units(form, "budget_min", currency or DEFAULT_CURRENCY, required=False)
    high = _minor_units(form, "budget_max", currency or DEFAULT_CURRENCY, required=False)
    if low is not None and high is not None and low > high:
        form.refuse("budget_min", "The lowest budget is above the highest.")
    filters = {
        "q": values["q"],
        "category": values["category"],
        "skill": values["skill"],
        "budget_min": low,
        "budget_max": high,
        "currency": currency,
        "kind": values["kind"],
    }
    return form, filters


def _offset(query: QueryDict) -> int:
    text = query.get("offset", "")
    return min(int(text), 10_000_000) if text.isdigit() else 0


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def project_list(request: HttpRequest) -> HttpResponse:
    form, filters = _search_form(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "categories": list(categories_list()),
        "currencies": _currencies(),
        "kinds": Project.BudgetKind.choices,
    }
    if form.errors:
        return render(request, "frontend/market/projects.html", context, status=400)
    found = listings.projects_search(**filters, limit=PAGE_SIZE, offset=_offset(request.GET))
    params = request.GET.copy()
    params.pop("offset", None)
    context.update(
        {
            "found": found,
            "first": found.offset + 1,
            "last": found.offset + len(found.projects),
            "previous_offset": max(0, found.offset - PAGE_SIZE) if found.offset else None,
            "next_offset": (
                found.offset + PAGE_SIZE if found.offset + PAGE_SIZE < found.total else None
            ),
            "params": params.urlencode(),
        }
    )
    return render(request, "frontend/market/projects.html", context)


def _project_form_page(request: HttpRequest, form: Form, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "categories": list(categories_list()),
        "currencies": _currencies(),
        "kinds": Project.BudgetKind.choices,
        "visibilities": Project.Visibility.choices,
        "skills_max": listings.PROJECT_SKILLS_MAX,
    }
    return render(request, "frontend/market/project_new.html", context, status=status)


NEW_PROJECT = {
    "title": "",
    "description": "",
    "category": "",
    "skills": [],
    "amount": "",
    "currency": DEFAULT_CURRENCY,
    "kind": Project.BudgetKind.FIXED,
    "visibility": Project.Visibility.PUBLIC,
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@member_page
def project_new(request: HttpRequest) -> HttpResponse:
    buyer = _viewer(request)
    if not buyer.is_buyer:
        return _refused(
            request,
            "Only buyers post projects",
            "Your account is not a buyer account: providers send proposals on projects.",
        )
    if request.method != "POST":
        return _project_form_page(request, Form(dict(NEW_PROJECT)))
    data = request.POST
    form = Form(
        {
            **{name: _text(data, name) for name in ("title", "description", "category")},
            "skills": [str(slug) for slug in data.getlist("skills")],
            "amount": _text(data, "amount"),
            "currency": _text(data, "currency").upper(),
            "kind": _text(data, "kind"),
            "visibility": _text(data, "visibility"),
        }
    )
    _required_check(form, {"title": "Give the project a title.", "category": "Choose a category."})
    _length_check(form, {"title": PROJECT_TITLE_MAX, "description": PROJECT_DESCRIPTION_MAX})
    amount = _minor_units(form, "amount", form.values["currency"])
    if form.values["kind"] not in Project.BudgetKind.values:
        form.refuse("kind", "Choose fixed price or hourly rate.")
    if form.errors or amount is None:
        return _project_form_page(request, form, status=400)
    try:
        project = listings.project_post(
            buyer=buyer,
            title=form.values["title"],
            description=form.values["description"],
            category=form.values["category"],
            skills=form.values["skills"],
            budget=listings.Budget(
                amount=amount, currency=form.values["currency"], kind=form.values["kind"]
            ),
            visibility=form.values["visibility"],
        )
    except ApplicationError as error:
        return _project_form_page(request, form, form.refused_by(error, PROJECT_FIELDS))
    messages.success(request, "Your project is posted.")
    return redirect("market:project", project_id=project.pk)


@dataclass(frozen=True)
class ProposalRow:
    """A proposal on the buyer's project, with where to talk about it and its contract."""

    proposal: Proposal
    conversation_id: uuid.UUID | None
    contract: Contract | None


PROPOSAL_FIELDS = {
    "cover_letter": "cover_letter",
    "amount": "amount",
    "currency": "currency",
    "duration_days": "duration_days",
}
INVITATION_FIELDS = {"provider": "provider", "message": "message"}
_LIVE = (Proposal.State.SUBMITTED, Proposal.State.ACCEPTED)


def _buyer_part(viewer: User, project: Project, invite_form: Form | None) -> dict[str, Any]:
    conversations = contracts.conversations_of_project(project=project)
    contract_of = {
        contract.proposal_id: contract
        for contract in contracts.contracts_of(user=viewer).filter(project=project)
    }
    rows = [
        ProposalRow(
            proposal=proposal,
            conversation_id=conversations.get(proposal.provider_id),
            contract=contract_of.get(proposal.pk),
        )
        for proposal in listings.proposals_of_project(buyer=viewer, project_id=project.pk)
    ]
    recommended = (
        listings.providers_recommended(buyer=viewer, project_id=project.pk)
        if project.is_open
        else []
    )
    return {
        "proposal_rows": rows,
        "recommended": recommended,
        "invite_form": invite_form or Form({"provider": "", "message": ""}),
    }


def _provider_part(viewer: User, project: Project, proposal_form: Form | None) -> dict[str, Any]:
    own = list(listings.proposals_of_provider(provider=viewer).filter(project=project))
    invitation = listings.invitations_of_provider(provider=viewer).filter(project=project).first()
    currency = project.budget_currency or DEFAULT_CURRENCY
    return {
        "own_proposals": own,
        "live_proposal": next((p for p in own if p.state in _LIVE), None),
        "invitation": invitation,
        "quota": listings.bid_quota_of(provider=viewer),
        "conversation_id": contracts.conversations_of_project(project=project).get(viewer.pk),
        "proposal_form": proposal_form
        or Form({"cover_letter": "", "amount": "", "currency": currency, "duration_days": ""}),
        "currencies": _currencies(),
    }


def _project_page(
    request: HttpRequest,
    project_id: int,
    *,
    proposal_form: Form | None = None,
    invite_form: Form | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    viewer = _viewer(request)
    project = _seen(lambda: listings.project_for_viewer(viewer=viewer, project_id=project_id))
    is_buyer = project.buyer_id == viewer.pk
    bids = not is_buyer and viewer.is_provider
    # The refusal of a form this viewer is not offered (a buyer's proposal, say) is told above.
    lines = [problem] if problem else []
    for form, shown in ((proposal_form, bids), (invite_form, is_buyer)):
        if form is not None and not shown:
            lines += [line for errors in form.errors.values() for line in errors]
    context: dict[str, Any] = {"project": project, "is_buyer": is_buyer, "problem": " ".join(lines)}
    if is_buyer:
        context.update(_buyer_part(viewer, project, invite_form))
    elif viewer.is_provider:
        context.update(_provider_part(viewer, project, proposal_form))
        context["cautions"] = listing_cautions(project)
    return render(request, "frontend/market/project.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    return _project_page(request, project_id)


@never_cache
@require_POST
@member_page
def proposal_send(request: HttpRequest, project_id: int) -> HttpResponse:
    provider = _viewer(request)
    data = request.POST
    form = Form(
        {
            "cover_letter": _text(data, "cover_letter"),
            "amount": _text(data, "amount"),
            "currency": _text(data, "currency").upper(),
            "duration_days": _text(data, "duration_days"),
        }
    )
    _required_check(form, {"cover_letter": "Write a cover letter."})
    _length_check(form, {"cover_letter": COVER_LETTER_MAX})
    amount = _minor_units(form, "amount", form.values["currency"])
    days = _whole_number(form, "duration_days", 1, DURATION_DAYS_MAX)
    if form.errors or amount is None or days is None:
        return _project_page(request, project_id, proposal_form=form, status=400)
    terms = listings.ProposalTerms(
        cover_letter=form.values["cover_letter"],
        amount=amount,
        currency=form.values["currency"],
        duration_days=days,
    )
    try:
        sent = listings.proposal_submit(provider=provider, project_id=project_id, terms=terms)
    except ApplicationError as error:
        status = form.refused_by(error, PROPOSAL_FIELDS)
        return _project_page(request, project_id, proposal_form=form, status=status)
    if sent.proposal.costs_bid:
        left = sent.bids.left
        messages.success(
            request,
            f"Your proposal is sent. {left} free bid{'' if left == 1 else 's'} left this month.",
        )
    else:
        messages.success(request, "Your proposal is sent. It was free: you were invited.")
    return redirect("market:project", project_id=project_id)


@never_cache
@require_POST
@member_page
def invitation_send(request: HttpRequest, project_id: int) -> HttpResponse:
    buyer = _viewer(request)
    form = Form({"provider": _text(request.POST, "provider"), "message": ""})
    form.values["message"] = _text(request.POST, "message")
    _length_check(form, {"message": COVER_LETTER_MAX})
    if not form.values["provider"].isdigit():
        form.refuse("provider", "Choose a provider to invite.")
    if form.errors:
        return _project_page(request, project_id, invite_form=form, status=400)
    try:
        invitation = listings.invitation_send(
            buyer=buyer,
            project_id=project_id,
            provider_id=int(form.values["provider"]),
            message=form.values["message"],
        )
    except ApplicationError as error:
        status = form.refused_by(error, INVITATION_FIELDS)
        return _project_page(request, project_id, invite_form=form, status=status)
    messages.success(request, f"{invitation.provider.name} is invited.")
    return redirect("market:project", project_id=project_id)


@never_cache
@require_POST
@member_page
def project_close(request: HttpRequest, project_id: int) -> HttpResponse:
    buyer = _viewer(request)
    # Anyone but the buyer gets the service's answer: not found.
    _seen(lambda: listings.project_close(buyer=buyer, project_id=project_id))
    messages.success(request, "The project is closed: it takes no more proposals.")
    return redirect("market:project", project_id=project_id)


# -- proposals: the buyer decides, the provider withdraws ----------------------------------------


def _decided(
    request: HttpRequest, proposal_id: int, decide: Callable[[User], T]
) -> T | HttpResponse:
    """Run the buyer's decision; refused, the project page again with the reason."""
    viewer = _viewer(request)
    try:
        return decide(viewer)
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        proposal = _seen(lambda: listings.proposal_for_party(user=viewer, proposal_id=proposal_id))
        return _project_page(
            request, proposal.project_id, problem=error.message, status=_status(error)
        )


@never_cache
@require_POST
@member_page
def proposal_accept(request: HttpRequest, proposal_id: int) -> HttpResponse:
    contract = _decided(
        request,
        proposal_id,
        lambda buyer: contracts.proposal_accept(buyer=buyer, proposal_id=proposal_id),
    )
    if isinstance(contract, HttpResponse):
        return contract
    messages.success(request, "The contract has started. Its events are posted in your chat.")
    return redirect("market:contract", contract_id=contract.pk)


@never_cache
@require_POST
@member_page
def proposal_decline(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = _decided(
        request,
        proposal_id,
        lambda buyer: listings.proposal_decline(buyer=buyer, proposal_id=proposal_id),
    )
    if isinstance(proposal, HttpResponse):
        return proposal
    messages.success(request, f"The proposal of {proposal.provider.name} is declined.")
    return redirect("market:project", project_id=proposal.project_id)


def _proposals_page(request: HttpRequest, problem: str = "", status: int = 200) -> HttpResponse:
    provider = _viewer(request)
    context = {
        "proposals": listings.proposals_of_provider(provider=provider),
        "quota": listings.bid_quota_of(provider=provider),
        "problem": problem,
    }
    return render(request, "frontend/market/proposals.html", context, status=status)


def _not_provider(request: HttpRequest, heading: str) -> HttpResponse:
    return _refused(
        request, heading, "Your account is not a provider account: buyers post projects."
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def proposal_list(request: HttpRequest) -> HttpResponse:
    if not _viewer(request).is_provider:
        return _not_provider(request, "Only providers send proposals")
    return _proposals_page(request)


@never_cache
@require_POST
@member_page
def proposal_withdraw(request: HttpRequest, proposal_id: int) -> HttpResponse:
    provider = _viewer(request)
    try:
        listings.proposal_withdraw(provider=provider, proposal_id=proposal_id)
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        return _proposals_page(request, problem=error.message, status=_status(error))
    messages.success(request, "Your proposal is withdrawn.")
    return redirect("market:proposals")


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def recommended(request: HttpRequest) -> HttpResponse:
    provider = _viewer(request)
    if not provider.is_provider:
        return _not_provider(request, "Recommendations are for providers")
    context = {
        "projects": listings.projects_recommended(provider=provider),
        "invitations": listings.invitations_of_provider(provider=provider),
        "quota": listings.bid_quota_of(provider=provider),
    }
    return render(request, "frontend/market/recommended.html", context)


# -- offers --------------------------------------------------------------------------------------

OFFER_FIELDS = {
    "title": "title",
    "included": "included",
    "category": "category",
    "price": "amount",
    "currency": "currency",
    "delivery_days": "delivery_days",
}


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def offer_list(request: HttpRequest) -> HttpResponse:
    category = _text(request.GET, "category")[:SLUG_MAX]
    context = {
        "offers": contracts.offers_listed(category=category),
        "category": category,
        "categories": list(categories_list()),
    }
    return render(request, "frontend/market/offers.html", context)


def _offer_form_page(request: HttpRequest, form: Form, status: int = 200) -> HttpResponse:
    context = {"form": form, "categories": list(categories_list()), "currencies": _currencies()}
    return render(request, "frontend/market/offer_new.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@member_page
def offer_new(request: HttpRequest) -> HttpResponse:
    provider = _viewer(request)
    if not provider.is_provider:
        return _not_provider(request, "Only providers publish offers")
    names = ("title", "included", "category", "amount", "currency", "delivery_days")
    if request.method != "POST":
        blank = dict.fromkeys(names, "")
        return _offer_form_page(request, Form({**blank, "currency": DEFAULT_CURRENCY}))
    form = Form({name: _text(request.POST, name) for name in names})
    form.values["currency"] = form.values["currency"].upper()
    _required_check(
        form,
        {
            "title": "Give the offer a title.",
            "included": "Say what the price includes.",
            "category": "Choose a category.",
        },
    )
    _length_check(form, {"title": PROJECT_TITLE_MAX, "included": PROJECT_DESCRIPTION_MAX})
    amount = _minor_units(form, "amount", form.values["currency"])
    days = _whole_number(form, "delivery_days", 1, DURATION_DAYS_MAX)
    if form.errors or amount is None or days is None:
        return _offer_form_page(request, form, status=400)
    terms = contracts.OfferTerms(
        title=form.values["title"],
        included=form.values["included"],
        category=form.values["category"],
        price_amount=amount,
        price_currency=form.values["currency"],
        delivery_days=days,
    )
    try:
        offer = contracts.offer_publish(provider=provider, terms=terms)
    except ApplicationError as error:
        return _offer_form_page(request, form, form.refused_by(error, OFFER_FIELDS))
    messages.success(request, "Your offer is published.")
    return redirect("market:offer", offer_id=offer.pk)


def _offer_page(
    request: HttpRequest, offer_id: int, problem: str = "", status: int = 200
) -> HttpResponse:
    viewer = _viewer(request)
    offer: Offer = _seen(lambda: contracts.offer_for_viewer(viewer=viewer, offer_id=offer_id))
    is_owner = offer.provider_id == viewer.pk
    context = {
        "offer": offer,
        "is_owner": is_owner,
        "may_buy": viewer.is_buyer and not is_owner and offer.active,
        "problem": problem,
    }
    return render(request, "frontend/market/offer.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    return _offer_page(request, offer_id)


@never_cache
@require_POST
@member_page
def offer_buy(request: HttpRequest, offer_id: int) -> HttpResponse:
    buyer = _viewer(request)
    try:
        contract = contracts.offer_buy(buyer=buyer, offer_id=offer_id)
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        return _offer_page(request, offer_id, problem=error.message, status=_status(error))
    messages.success(request, "You bought the offer: the contract has started.")
    return redirect("market:contract", contract_id=contract.pk)


@never_cache
@require_POST
@member_page
def offer_retire(request: HttpRequest, offer_id: int) -> HttpResponse:
    provider = _viewer(request)
    _seen(lambda: contracts.offer_retire(provider=provider, offer_id=offer_id))
    messages.success(request, "This offer is no longer sold. Running contracts go on.")
    return redirect("market:offer", offer_id=offer_id)


# -- contracts -----------------------------------------------------------------------------------

END_FIELDS = {"outcome": "outcome", "note": "note"}
REVIEW_FIELDS = {"rating": "rating", "text": "text"}
RATINGS = [(1, "1: poor"), (2, "2: fair"), (3, "3: good"), (4, "4: very good"), (5, "5: excellent")]


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def contract_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    context = {"contracts": contracts.contracts_of(user=viewer)}
    return render(request, "frontend/market/contracts.html", context)


def _contract_page(
    request: HttpRequest,
    contract_id: int,
    *,
    milestone_form: Form | None = None,
    end_form: Form | None = None,
    review_form: Form | None = None,
    fund_form: Form | None = None,
    dispute_form: Form | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    viewer = _viewer(request)
    contract = _seen(lambda: contracts.contract_for_party(user=viewer, contract_id=contract_id))
    may_fund = viewer.pk == contract.buyer_id and contract.is_active
    ledger = contract_ledger_for_party(user=viewer, contract=contract)
    open_dispute = dispute_open_on(contract_id=contract.pk)
    is_party = viewer.pk in (contract.buyer_id, contract.provider_id)
    other = contract.provider if viewer.pk == contract.buyer_id else contract.buyer
    reviews = [
        review
        for party in (contract.buyer, contract.provider)
        for review in track_record.reviews_of(user=party).filter(contract=contract)
    ]
    own_review = next((r for r in reviews if r.author_id == viewer.pk), None)
    may_review = is_party and not contract.is_active and own_review is None
    running = is_party and contract.is_active
    may_dispute = is_party and ledger is not None and ledger.escrow > 0 and open_dispute is None
    lines = [problem] if problem else []
    # The refusal of a form the page no longer offers (a review too early, say) is told above.
    for form, shown in (
        (milestone_form, running),
        (end_form, running),
        (review_form, may_review),
        (fund_form, may_fund),
        (dispute_form, may_dispute),
    ):
        if form is not None and not shown:
            lines += [line for errors in form.errors.values() for line in errors]
    context = {
        "contract": contract,
        "milestones": list(contract.milestones.all()),
        "is_party": is_party,
        "is_provider": viewer.pk == contract.provider_id,
        "other": other,
        "outcomes": [
            (outcome, Contract.Outcome(outcome).label)
            for outcome in contracts.contract_end_outcomes(contract=contract, user=viewer)
        ]
        if is_party
        else [],
        "ratings": RATINGS,
        "reviews": reviews,
        "may_review": may_review,
        "milestone_form": milestone_form or Form({"title": "", "amount": "", "due_on": ""}),
        "end_form": end_form or Form({"outcome": "", "note": ""}),
        "review_form": review_form or Form({"rating": "", "text": ""}),
        # Money: the contract's balances, and the buyer's form to fund escrow (money_views).
        "ledger": ledger,
        "may_fund": may_fund,
        "fund_form": fund_form or Form({"amount": "", "payment_method": PAYMENT_METHODS[0][0]}),
        "fund_token": form_token_issue(user=viewer, purpose=f"fund-{contract.pk}")
        if may_fund
        else "",
        "payment_methods": PAYMENT_METHODS,
        # Disputes (money_views.dispute_open): a party disputes what escrow holds.
        "may_dispute": may_dispute,
        "open_dispute": open_dispute,
        "dispute_form": dispute_form or Form({"reason": "", "amount": ""}),
        "problem": " ".join(lines),
    }
    return render(request, "frontend/market/contract.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_page(request, contract_id)


@never_cache
@require_POST
@member_page
def milestone_add(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    contract = _seen(lambda: contracts.contract_for_party(user=viewer, contract_id=contract_id))
    form = Form({name: _text(request.POST, name) for name in ("title", "amount", "due_on")})
    if not form.values["title"]:
        form.refuse("title", "Give the milestone a title.")
    _length_check(form, {"title": PROJECT_TITLE_MAX})
    amount = _minor_units(form, "amount", contract.currency)
    due_on = None
    if form.values["due_on"]:
        try:
            due_on = date.fromisoformat(form.values["due_on"])
        except ValueError:
            form.refuse("due_on", "Enter a date like 2030-05-31, or leave it empty.")
    if form.errors or amount is None:
        return _contract_page(request, contract_id, milestone_form=form, status=400)
    terms = contracts.MilestoneTerms(title=form.values["title"], amount=amount, due_on=due_on)
    try:
        contracts.milestone_add(user=viewer, contract_id=contract_id, terms=terms)
    except ApplicationError as error:
        status = form.refused_by(error, {})
        return _contract_page(request, contract_id, milestone_form=form, status=status)
    messages.success(request, f"The milestone “{terms.title}” is added.")
    return redirect("market:contract", contract_id=contract_id)


@never_cache
@require_POST
@member_page
def milestone_deliver(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    viewer = _viewer(request)
    try:
        milestone = contracts.milestone_deliver(
            provider=viewer, contract_id=contract_id, milestone_id=milestone_id
        )
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        return _contract_page(request, contract_id, problem=error.message, status=_status(error))
    messages.success(request, f"The milestone “{milestone.title}” is delivered.")
    return redirect("market:contract", contract_id=contract_id)


@never_cache
@require_POST
@member_page
def contract_end(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = Form({"outcome": _text(request.POST, "outcome"), "note": _text(request.POST, "note")})
    if not form.values["outcome"]:
        form.refuse("outcome", "Choose how the contract ends.")
        return _contract_page(request, contract_id, end_form=form, status=400)
    try:
        contracts.contract_end(
            user=viewer,
            contract_id=contract_id,
            outcome=form.values["outcome"],
            note=form.values["note"],
        )
    except ApplicationError as error:
        status = form.refused_by(error, END_FIELDS)
        return _contract_page(request, contract_id, end_form=form, status=status)
    messages.success(request, "The contract has ended. You can now review it.")
    return redirect("market:contract", contract_id=contract_id)


@never_cache
@require_POST
@member_page
def review_write(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    form = Form({"rating": _text(request.POST, "rating"), "text": _text(request.POST, "text")})
    _length_check(form, {"text": REVIEW_TEXT_MAX})
    rating = _whole_number(form, "rating", 1, 5)
    if form.errors or rating is None:
        return _contract_page(request, contract_id, review_form=form, status=400)
    try:
        track_record.review_write(
            author=viewer, contract_id=contract_id, rating=rating, text=form.values["text"]
        )
    except ApplicationError as error:
        status = form.refused_by(error, REVIEW_FIELDS)
        return _contract_page(request, contract_id, review_form=form, status=status)
    messages.success(request, "Thank you: your review is saved.")
    return redirect("market:contract", contract_id=contract_id)


# -- endorsements --------------------------------------------------------------------------------

ENDORSEMENT_FIELDS = {"name": "name", "email": "email", "relationship": "relationship"}


def _endorsements_page(request: HttpRequest, form: Form, status: int = 200) -> HttpResponse:
    provider = _viewer(request)
    asked = track_record.endorsement_requests_of(provider=provider)
    context = {
        "form": form,
        "relationships": Endorsement.Relationship.choices,
        "pending": asked,
        "given": track_record.endorsements_of(provider=provider),
        "requests_max": track_record.ENDORSEMENT_REQUESTS_MAX,
    }
    return render(request, "frontend/market/endorsements.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@member_page
def endorsement_list(request: HttpRequest) -> HttpResponse:
    provider = _viewer(request)
    if not provider.is_provider:
        return _not_provider(request, "Only providers ask for endorsements")
    names = ("name", "email", "relationship")
    if request.method != "POST":
        return _endorsements_page(request, Form(dict.fromkeys(names, "")))
    form = Form({name: _text(request.POST, name) for name in names})
    _required_check(form, {"name": "Give the endorser's name."})
    _length_check(form, {"name": TITLE_MAX})
    try:
        validate_email(form.values["email"])
    except ValidationError:
        form.refuse("email", "Enter an e-mail address, like name@example.com.")
    if form.errors:
        return _endorsements_page(request, form, status=400)
    try:
        asked = track_record.endorsement_request(
            provider=provider,
            name=form.values["name"],
            email=form.values["email"],
            relationship=form.values["relationship"],
            base_url=request.build_absolute_uri("/"),
        )
    except ApplicationError as error:
        status = form.refused_by(error, ENDORSEMENT_FIELDS)
        return _endorsements_page(request, form, status=status)
    name = asked.endorsement.endorser_name
    messages.success(request, f"We e-mailed {name} a link to write your endorsement.")
    return redirect("market:endorsements")


# -- the endorser's page -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def endorse(request: HttpRequest, token: str) -> HttpResponse:
    """The endorser's page, reached by the e-mailed link; no account needed."""
    try:
        endorsement = track_record.endorsement_by_token(token=token)
    except ApplicationError as error:
        raise Http404(error.message) from error
    errors: list[str] = []
    text = ""
    if request.method == "POST" and endorsement.given_at is None:
        text = request.POST.get("text", "")
        try:
            endorsement = track_record.endorsement_give(token=token, text=text)
        except ApplicationError as error:
            fields = error.extra.get("text")
            errors = [str(line) for line in fields] if isinstance(fields, list) else [error.message]
    context = {"endorsement": endorsement, "errors": errors, "text": text}
    return render(request, "frontend/market/endorse.html", context, status=400 if errors else 200)
