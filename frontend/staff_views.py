"""Support staff's pages: the ID document review and the vetting queue.

Staff only (``user.is_support`` or ``is_staff``); ``accounts.middleware.StaffMFAMiddleware``
sends staff without TOTP to MFA setup before any of these runs. Reads go through
``reports.selectors``, writes (and the audited reads of documents) through
``reports.services``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from reports import selectors, services
from reports.api import document_file_response

View = Callable[..., HttpResponse]


def staff_page(view: View) -> View:
    """Signed in, support staff, never cached; others get a 403 page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = cast(User, request.user)
        if not user.is_staff_member or user.is_banned:
            return render(request, "frontend/staff/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return never_cache(login_required(guarded))


def _staff(request: HttpRequest) -> User:
    return cast(User, request.user)


@require_GET
@staff_page
def home(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    context = {
        "documents": selectors.identity_documents_pending(staff=staff).count(),
        "vetting": selectors.vetting_requests_pending(staff=staff).count(),
    }
    return render(request, "frontend/staff/home.html", context)


# -- ID and business documents -------------------------------------------------------------------


@require_GET
@staff_page
def id_documents(request: HttpRequest) -> HttpResponse:
    queue = list(selectors.identity_documents_pending(staff=_staff(request)))
    return render(request, "frontend/staff/id_documents.html", {"documents": queue})


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def id_document(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    try:
        document = selectors.identity_document_for_staff(staff=staff, document_id=str(document_id))
    except ApplicationError as error:
        raise Http404(error.message) from error
    errors: dict[str, list[str]] = {}
    form = {"decision": "", "reason": ""}
    if request.method == "POST":
        form = {
            "decision": request.POST.get("decision", ""),
            "reason": request.POST.get("reason", ""),
        }
        try:
            decided = services.identity_document_decide(
                staff=staff, document_id=str(document_id), **form
            )
        except ApplicationError as error:
            errors = {key: value for key, value in error.extra.items() if isinstance(value, list)}
            errors.setdefault("non_field_errors", [error.message])
        else:
            verb = "approved" if decided.state == decided.State.APPROVED else "rejected"
            messages.success(
                request,
                f"{decided.get_kind_display()} of {decided.user.name} {verb}; the file is deleted.",
            )
            return redirect("verification:staff-id-documents")
    context = {"document": document, "form": form, "errors": errors}
    return render(
        request, "frontend/staff/id_document.html", context, status=400 if errors else 200
    )


@require_GET
@xframe_options_sameorigin  # embedded in the review page, and nowhere else
@staff_page
def id_document_file(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    """The decrypted file; each read is logged by ``identity_document_read``."""
    try:
        opened = services.identity_document_read(
            staff=_staff(request), document_id=str(document_id)
        )
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        raise
    return document_file_response(opened)


# -- vetting -------------------------------------------------------------------------------------


@require_GET
@staff_page
def vetting(request: HttpRequest) -> HttpResponse:
    queue = list(selectors.vetting_requests_pending(staff=_staff(request)))
    return render(request, "frontend/staff/vetting.html", {"requests": queue})


@require_POST
@staff_page
def vetting_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        decided = services.vetting_request_decide(
            staff=_staff(request),
            request_id=request_id,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except ApplicationError as error:
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message) from error
        reasons = error.extra.get("reason") or [error.message]
        messages.error(request, " ".join(str(reason) for reason in reasons))
        return redirect("verification:staff-vetting")
    if decided.state == decided.State.VETTED:
        messages.success(request, f"{decided.user.name} is vetted.")
    else:
        messages.success(request, f"{decided.user.name} was asked for changes.")
    return redirect("verification:staff-vetting")
