"""Money over HTTP (PROTOCOL.md §2, money). Every unsafe request takes ``Idempotency-Key``
(``invoices.idempotency``); views parse, call one service, and shape the answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invoices import services
from invoices.idempotency import HEADER, idempotent
from invoices.models import AMOUNT_MAX, Invoice
from projects.api import signed_in
from projects.marketplace_api import parsed

KEY = OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=True)
ANY_OBJECT = inline_serializer("MoneyObject", {"id": serializers.IntegerField()})


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "contract": invoice.contract_id,
        "conversation": str(invoice.contract.engagement.conversation_id),
        "milestone": invoice.milestone_id,
        "state": invoice.state,
        "currency": invoice.currency,
        "items": invoice.items,
        "total": invoice.total,
        "fee": invoice.fee,
        "refunded": invoice.refunded,
        "note": invoice.note,
        "issued_at": invoice.issued_at.isoformat(),
        "due_at": invoice.due_at.isoformat(),
        "decided_at": invoice.decided_at.isoformat() if invoice.decided_at else None,
        "decline_reason": invoice.decline_reason,
    }


class MinorUnits(serializers.IntegerField):
    """An amount: a JSON integer of minor units. DRF's ``IntegerField`` alone takes ``"100"``,
    ``100.0`` and ``true`` too; money takes none of them (no floats anywhere)."""

    default_error_messages = {
        "not_whole": "Give a whole number of minor units (cents), not a decimal or a string."
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_whole")
        return int(super().to_internal_value(data))


class FundInput(serializers.Serializer):
    amount = MinorUnits(min_value=1, max_value=AMOUNT_MAX)
    currency = serializers.CharField(min_length=3, max_length=3)
    payment_method = serializers.CharField(max_length=64)


class ItemInput(serializers.Serializer):
    description = serializers.CharField(max_length=services.ITEM_DESCRIPTION_MAX)
    amount = MinorUnits(min_value=1, max_value=AMOUNT_MAX)


class InvoiceInput(serializers.Serializer):
    contract = serializers.IntegerField(min_value=1)
    currency = serializers.CharField(min_length=3, max_length=3)
    items = serializers.ListField(child=ItemInput(), min_length=1, max_length=services.ITEMS_MAX)
    note = serializers.CharField(max_length=services.NOTE_MAX, allow_blank=True, default="")
    milestone = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class PayInput(serializers.Serializer):
    payment_method = serializers.CharField(max_length=64, allow_blank=True, default="")


class DeclineInput(serializers.Serializer):
    reason = serializers.CharField(max_length=services.NOTE_MAX)


class RefundInput(serializers.Serializer):
    amount = MinorUnits(min_value=1, max_value=AMOUNT_MAX)


class ContractFundView(APIView):
    @extend_schema(request=FundInput, parameters=[KEY], responses={200: ANY_OBJECT})
    def post(self, request: Request, contract_id: int) -> Response:
        user = signed_in(request)

        def work() -> Response:
            data = parsed(FundInput, request.data)
            funded = services.escrow_fund(buyer=user, contract_id=contract_id, **data)
            return Response(
                {
                    "contract": funded.contract.pk,
                    "currency": funded.contract.currency,
                    "escrow": funded.escrow,
                }
            )

        return idempotent(request, user, work)


class ContractLedgerView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, contract_id: int) -> Response:
        ledger = services.contract_ledger(user=signed_in(request), contract_id=contract_id)
        return Response(
            {
                "currency": ledger.currency,
                "balances": {
                    "escrow": ledger.escrow,
                    "provider": ledger.provider,
                    "fees": ledger.fees,
                    "refunded": ledger.refunded,
                },
                "entries": ledger.entries,
            }
        )


class ConversationInvoicesView(APIView):
    @extend_schema(request=InvoiceInput, parameters=[KEY], responses={201: ANY_OBJECT})
    def post(self, request: Request, conversation_id: str) -> Response:
        user = signed_in(request)

        def work() -> Response:
            data = parsed(InvoiceInput, request.data)
            invoice = services.invoice_raise(
                provider=user,
                contract_id=data["contract"],
                conversation_id=conversation_id,
                currency=data["currency"],
                items=[services.LineItem(**item) for item in data["items"]],
                note=data["note"],
                milestone_id=data.get("milestone"),
            )
            return Response(invoice_payload(invoice), status=status.HTTP_201_CREATED)

        return idempotent(request, user, work)


class InvoiceDetailView(APIView):
    @extend_schema(responses={200: ANY_OBJECT})
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = services.invoice_for_party(user=signed_in(request), invoice_id=invoice_id)
        return Response(invoice_payload(invoice))


def _invoice_action(request: Request, shape: type[serializers.Serializer], act: Any) -> Response:
    user = signed_in(request)

    def work() -> Response:
        return Response(invoice_payload(act(user, parsed(shape, request.data))))

    return idempotent(request, user, work)


class InvoicePayView(APIView):
    @extend_schema(request=PayInput, parameters=[KEY], responses={200: ANY_OBJECT})
    def post(self, request: Request, invoice_id: int) -> Response:
        return _invoice_action(
            request,
            PayInput,
            lambda user, data: services.invoice_pay(buyer=user, invoice_id=invoice_id, **data),
        )


class InvoiceDeclineView(APIView):
    @extend_schema(request=DeclineInput, parameters=[KEY], responses={200: ANY_OBJECT})
    def post(self, request: Request, invoice_id: int) -> Response:
        return _invoice_action(
            request,
            DeclineInput,
            lambda user, data: services.invoice_decline(buyer=user, invoice_id=invoice_id, **data),
        )


class InvoiceCancelView(APIView):
    @extend_schema(request=None, parameters=[KEY], responses={200: ANY_OBJECT})
    def post(self, request: Request, invoice_id: int) -> Response:
        return _invoice_action(
            request,
            serializers.Serializer,
            lambda user, data: services.invoice_cancel(provider=user, invoice_id=invoice_id),
        )


class InvoiceRefundView(APIView):
    @extend_schema(request=RefundInput, parameters=[KEY], responses={200: ANY_OBJECT})
    def post(self, request: Request, invoice_id: int) -> Response:
        return _invoice_action(
            request,
            RefundInput,
            lambda user, data: services.invoice_refund(user=user, invoice_id=invoice_id, **data),
        )
