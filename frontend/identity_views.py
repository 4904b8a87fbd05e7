"""Pages of identity and policy: the policies, accepting the Terms, verifying a phone.

Sign-up, e-mail verification and MFA are django-allauth's own pages (under /account/),
restyled by accounts/templates/allauth/layouts/base.html.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.errors import ApplicationError
from accounts.forms import PhoneCodeForm, PhoneForm, TermsAcceptForm
from accounts.models import PhoneVerification, User
from accounts.services import phone_code_send, phone_code_verify, terms_accept

POLICY_TEMPLATES = {
    "terms": "frontend/policies/terms.html",
    "privacy": "frontend/policies/privacy.html",
    "guidelines": "frontend/policies/guidelines.html",
    "safety": "frontend/policies/safety.html",
}


@require_GET
def policy(request: HttpRequest, page: str) -> HttpResponse:
    context = {"terms_version": settings.TERMS_VERSION}
    return render(request, POLICY_TEMPLATES[page], context)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def terms_accept_page(request: HttpRequest) -> HttpResponse:
    form = TermsAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        terms_accept(user=cast(User, request.user))
        return redirect(_safe_next(request))
    context = {"form": form, "next": _safe_next(request), "terms_version": settings.TERMS_VERSION}
    status = 400 if request.method == "POST" else 200
    return render(request, "frontend/account/terms_accept.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def phone_page(request: HttpRequest) -> HttpResponse:
    """Add a phone number (a code is sent by SMS), then confirm it with the code."""
    user = cast(User, request.user)
    phone_form = PhoneForm(initial={"phone": user.phone_number})
    code_form = PhoneCodeForm()
    status = 200
    if request.method == "POST" and "phone" in request.POST:
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                phone_code_send(user=user, phone=phone_form.cleaned_data["phone"])
            except ApplicationError as error:
                for message in error.extra.get("phone", [error.message]):
                    phone_form.add_error("phone", message)
            else:
                messages.success(request, "We sent a 6-digit code by SMS. Enter it below.")
                return redirect("identity:phone")
        status = 400
    elif request.method == "POST":
        code_form = PhoneCodeForm(request.POST)
        if code_form.is_valid():
            try:
                phone_code_verify(user=user, code=code_form.cleaned_data["code"])
            except ApplicationError as error:
                code_form.add_error("code", error.message)
            else:
                messages.success(request, "Your phone number is verified.")
                return redirect("identity:phone")
        status = 400
    pending = PhoneVerification.objects.filter(user=user, used_at__isnull=True).first()
    context = {"user": user, "phone_form": phone_form, "code_form": code_form, "pending": pending}
    return render(request, "frontend/account/phone.html", context, status=status)
