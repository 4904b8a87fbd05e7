"""Money pages of the web app: funding a contract's escrow from the contract page, a
provider's balance and statement, a buyer's payments.

The funding form is a plain post (no script) that calls ``invoices.services.escrow_fund``
directly, as the API does; a one-time form token (``frontend.form_tokens``) and
post/redirect/get keep a double click or a resent page from charging twice. The pages read
through ``invoices.selectors``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from chatbox.errors import ApplicationError
from frontend.form_tokens import Spent, form_token_spend
from frontend.market_views import (
    Form,
    _contract_page,
    _minor_units,
    _refused,
    _seen,
    _text,
    _viewer,
    member_page,
)
from invoices import services
from invoices.errors import MoneyErrorCode
from invoices.selectors import PAYMENT_METHODS, buyer_payments, provider_statement
from projects.contracts import contract_for_party
from projects.money import format_amount
from reports import disputes

# The service's field names, as the funding form names them.
FUND_FIELDS = {"amount": "amount", "currency": "amount", "payment_method": "payment_method"}
REFUSED_METHOD = {MoneyErrorCode.PAYMENT_DECLINED, MoneyErrorCode.INSUFFICIENT_FUNDS}
SENT_ALREADY = "This form was already sent, and is not sent twice: check the balances below."
FORM_EXPIRED = "This form has expired. Check the amount and send it again."


@never_cache
@require_POST
@member_page
def escrow_fund(request: HttpRequest, contract_id: int) -> HttpResponse:
    """The buyer's "Fund escrow" form on the contract page."""
    viewer = _viewer(request)
    contract = _seen(lambda: contract_for_party(user=viewer, contract_id=contract_id))
    form = Form({name: _text(request.POST, name) for name in ("amount", "payment_method")})
    spent = form_token_spend(
        user=viewer, purpose=f"fund-{contract.pk}", token=_text(request.POST, "token")
    )
    if spent == Spent.AGAIN:
        messages.info(request, SENT_ALREADY)
        return redirect("market:contract", contract_id=contract.pk)
    if spent == Spent.INVALID:
        form.refuse("form", FORM_EXPIRED)
    amount = _minor_units(form, "amount", contract.currency)
    if amount == 0:
        form.refuse("amount", "Enter an amount above zero.")
    if form.values["payment_method"] not in dict(PAYMENT_METHODS):
        form.refuse("payment_method", "Choose a payment method.")
    if form.errors or amount is None:
        return _contract_page(request, contract.pk, fund_form=form, status=400)
    try:
        funded = services.escrow_fund(
            buyer=viewer,
            contract_id=contract.pk,
            amount=amount,
            currency=contract.currency,
            payment_method=form.values["payment_method"],
        )
    except ApplicationError as error:
        if error.code in REFUSED_METHOD:
            form.refuse("payment_method", error.message)
        status = form.refused_by(error, FUND_FIELDS)
        return _contract_page(request, contract.pk, fund_form=form, status=status)
    messages.success(
        request,
        f"Escrow funded: {format_amount(amount, contract.currency)}. "
        f"It now holds {format_amount(funded.escrow, contract.currency)}.",
    )
    return redirect("market:contract", contract_id=contract.pk)


@never_cache
@require_POST
@member_page
def dispute_open(request: HttpRequest, contract_id: int) -> HttpResponse:
    """A party's "Open a dispute" form on the contract page: the amount is frozen in escrow,
    and the dispute goes on in the contract's chat. Sent twice, the second is refused: a
    contract has one open dispute."""
    viewer = _viewer(request)
    contract = _seen(lambda: contract_for_party(user=viewer, contract_id=contract_id))
    form = Form({name: _text(request.POST, name) for name in ("reason", "amount")})
    amount = _minor_units(form, "amount", contract.currency)
    if amount == 0:
        form.refuse("amount", "Enter an amount above zero.")
    if not form.values["reason"].strip():
        form.refuse("reason", "Say what is wrong.")
    if form.errors or amount is None:
        return _contract_page(request, contract.pk, dispute_form=form, status=400)
    try:
        disputes.dispute_open(
            user=viewer, contract_id=contract.pk, reason=form.values["reason"], amount=amount
        )
    except ApplicationError as error:
        status = form.refused_by(error, {"amount": "amount", "reason": "reason"})
        return _contract_page(request, contract.pk, dispute_form=form, status=status)
    messages.success(
        request,
        f"Dispute opened: {format_amount(amount, contract.currency)} is frozen in escrow. "
        "Propose a settlement in the chat.",
    )
    return redirect("frontend:conversation", conversation_id=contract.engagement.conversation_id)


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def statement(request: HttpRequest) -> HttpResponse:
    """A provider's balance per currency and the movements of their account."""
    viewer = _viewer(request)
    if not viewer.is_provider:
        return _refused(
            request, "Balance and statement", "The balance and statement are for providers."
        )
    context = {"statement": provider_statement(provider=viewer)}
    return render(request, "frontend/money/statement.html", context)


@never_cache
@require_http_methods(["GET", "HEAD"])
@member_page
def payments(request: HttpRequest) -> HttpResponse:
    """A buyer's charges, invoices paid and refunds received, per contract."""
    viewer = _viewer(request)
    if not viewer.is_buyer:
        return _refused(request, "Payments", "The payments page is for buyers.")
    context = {"contracts": buyer_payments(buyer=viewer)}
    return render(request, "frontend/money/payments.html", context)
