"""A provider's side of verification: uploading an ID or business document, asking to be
vetted. Support staff's side is ``frontend.staff_views``."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from chatbox.errors import ApplicationError
from chatbox.uploads import upload_view
from reports import selectors, services
from reports.models import IdentityDocument


@upload_view(max_file_bytes=services.DOCUMENT_MAX_BYTES)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def id_document_page(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if not user.is_provider:
        return render(request, "frontend/profile_not_provider.html", status=403)
    errors: list[str] = []
    kind = request.POST.get("kind", IdentityDocument.Kind.IDENTITY)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append("Choose a file to upload.")
        else:
            try:
                services.identity_document_submit(user=user, kind=kind, file=upload)
            except ApplicationError as error:
                errors.extend(str(line) for line in error.extra.get("file", []) or [])
                if not errors:
                    errors.append(error.message)
            else:
                messages.success(request, "Your document is uploaded and waits for review.")
                return redirect("verification:id-document")
    context = {
        "documents": list(selectors.identity_documents_of(user=user)),
        "kinds": IdentityDocument.Kind.choices,
        "kind": kind,
        "errors": errors,
        "max_mb": services.DOCUMENT_MAX_BYTES // (1024 * 1024),
    }
    status = 400 if errors else 200
    return render(request, "frontend/verification/id_document.html", context, status=status)


@never_cache
@require_POST
@login_required
def vetting_request(request: HttpRequest) -> HttpResponse:
    try:
        services.vetting_request_submit(provider=cast(User, request.user))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "You asked to be vetted. Support staff will review your profile.")
    return redirect("frontend:profile_edit")
