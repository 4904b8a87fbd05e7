"""Disputes over HTTP (PROTOCOL.md §6, docs/disputes.md). Every unsafe request moves or freezes
money, so it takes an ``Idempotency-Key`` as every money request does
(``invoices.idempotency``); views parse, call one service, and shape the answer.

The arbitration decision is a staff route outside ``/api/staff/`` (PROTOCOL.md fixes its
path), so ``StaffMFAMiddleware`` does not see it: ``StaffWithMFA`` asks here what the
middleware and ``IsStaffMember`` ask there.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import IsStaffMember
from accounts.models import User
from chatbox.authentication import InGoodStanding
from chatbox.errors import ApplicationError, ErrorCode
from invoices.api import KEY, MinorUnits
from invoices.idempotency import idempotent
from invoices.models import AMOUNT_MAX
from projects.api import signed_in
from projects.marketplace_api import parsed
from reports import dispute_errors, disputes
from reports.models import Dispute, DisputeProposal

# Raised by ``disputes``; imported here too so that the API knows their HTTP statuses.
CODES = dispute_errors.DisputeErrorCode


class StaffWithMFA(BasePermission):
    """Support staff with a TOTP authenticator; after ``InGoodStanding`` (signed in, not
    banned). Others are refused in the error shape: 403 ``forbidden`` or ``mfa_required``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        assert isinstance(user, User)
        if not IsStaffMember().has_permission(request, view):
            raise ApplicationError(ErrorCode.FORBIDDEN, "Support staff only.")
        disputes.staff_mfa_require(user)
        return True


def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def proposal_payload(dispute: Dispute, proposal: DisputeProposal) -> dict[str, Any]:
    return {
        "id": proposal.pk,
        "dispute": proposal.dispute_id,
        "by": proposal.by_id,
        "side": disputes.proposal_side(dispute, proposal),
        "refund": proposal.refund,
        "release": proposal.release,
        "note": proposal.note,
        "at": proposal.at.isoformat(),
        "state": proposal.state,
        "accepted_by": proposal.accepted_by_id,
        "accepted_at": _moment(proposal.accepted_at),
    }


def dispute_payload(dispute: Dispute) -> dict[str, Any]:
    contract = dispute.contract
    return {
        "id": dispute.pk,
        "contract": contract.pk,
        "conversation": str(contract.engagement.conversation_id),
        "invoice": dispute.invoice_id,
        "buyer": contract.buyer_id,
        "provider": contract.provider_id,
        "opened_by": dispute.opened_by_id,
        "reason": dispute.reason,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "stage": dispute.stage,
        "deadline_at": dispute.deadline_at.isoformat(),
        "mediator": dispute.mediator_id,
        "opened_at": dispute.opened_at.isoformat(),
        "resolved_at": _moment(dispute.resolved_at),
        "outcome": dispute.outcome,
        "refund": dispute.refund,
        "release": dispute.release,
        "proposals": [
            proposal_payload(dispute, proposal)
            for proposal in dispute.proposals.order_by("at", "pk")
        ],
    }


def _dispute_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.IntegerField(),
        "stage": serializers.CharField(help_text="direct, mediation, arbitration or resolved"),
        "amount": serializers.IntegerField(),
        "currency": serializers.CharField(),
    }


DISPUTE = inline_serializer("Dispute", _dispute_fields())
PROPOSAL = inline_serializer(
    "DisputeProposal",
    {
        "id": serializers.IntegerField(),
        "refund": serializers.IntegerField(),
        "release": serializers.IntegerField(),
        "state": serializers.CharField(help_text="open, accepted or superseded"),
    },
)


class DisputeInput(serializers.Serializer):
    contract = serializers.IntegerField(min_value=1)
    invoice = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    reason = serializers.CharField(max_length=disputes.REASON_MAX)
    amount = MinorUnits(
        min_value=1,
        max_value=AMOUNT_MAX,
        required=False,
        help_text="Minor units; the invoice's total when an invoice is named and this is not.",
    )


class SettlementProposalInput(serializers.Serializer):
    refund = MinorUnits(min_value=0, max_value=AMOUNT_MAX)
    release = MinorUnits(min_value=0, max_value=AMOUNT_MAX)
    note = serializers.CharField(max_length=disputes.NOTE_MAX, allow_blank=True, default="")


class DisputeDecisionInput(serializers.Serializer):
    refund = MinorUnits(min_value=0, max_value=AMOUNT_MAX)
    release = MinorUnits(min_value=0, max_value=AMOUNT_MAX)
    reason = serializers.CharField(max_length=disputes.REASON_MAX)


class DisputesView(APIView):
    @extend_schema(request=DisputeInput, parameters=[KEY], responses={201: DISPUTE})
    def post(self, request: Request) -> Response:
        user = signed_in(request)

        def work() -> Response:
            data = parsed(DisputeInput, request.data)
            dispute = disputes.dispute_open(
                user=user,
                contract_id=data["contract"],
                invoice_id=data.get("invoice"),
                reason=data["reason"],
                amount=data.get("amount"),
            )
            return Response(dispute_payload(dispute), status=status.HTTP_201_CREATED)

        return idempotent(request, user, work)


class DisputeDetailView(APIView):
    @extend_schema(responses={200: DISPUTE})
    def get(self, request: Request, dispute_id: int) -> Response:
        dispute = disputes.dispute_for_viewer(user=signed_in(request), dispute_id=dispute_id)
        return Response(dispute_payload(dispute))


class DisputeProposalsView(APIView):
    @extend_schema(request=SettlementProposalInput, parameters=[KEY], responses={201: PROPOSAL})
    def post(self, request: Request, dispute_id: int) -> Response:
        user = signed_in(request)

        def work() -> Response:
            data = parsed(SettlementProposalInput, request.data)
            proposal = disputes.dispute_propose(user=user, dispute_id=dispute_id, **data)
            return Response(
                proposal_payload(proposal.dispute, proposal), status=status.HTTP_201_CREATED
            )

        return idempotent(request, user, work)


class DisputeProposalAcceptView(APIView):
    @extend_schema(request=None, parameters=[KEY], responses={200: DISPUTE})
    def post(self, request: Request, dispute_id: int, proposal_id: int) -> Response:
        user = signed_in(request)
        return idempotent(
            request,
            user,
            lambda: Response(
                dispute_payload(
                    disputes.dispute_proposal_accept(
                        user=user, dispute_id=dispute_id, proposal_id=proposal_id
                    )
                )
            ),
        )


class DisputeEscalateView(APIView):
    @extend_schema(request=None, parameters=[KEY], responses={200: DISPUTE})
    def post(self, request: Request, dispute_id: int) -> Response:
        user = signed_in(request)
        return idempotent(
            request,
            user,
            lambda: Response(
                dispute_payload(disputes.dispute_escalate(user=user, dispute_id=dispute_id))
            ),
        )


class DisputeDecisionView(APIView):
    permission_classes = [InGoodStanding, StaffWithMFA]

    @extend_schema(request=DisputeDecisionInput, parameters=[KEY], responses={200: DISPUTE})
    def post(self, request: Request, dispute_id: int) -> Response:
        staff = signed_in(request)

        def work() -> Response:
            data = parsed(DisputeDecisionInput, request.data)
            dispute = disputes.dispute_decide(staff=staff, dispute_id=dispute_id, **data)
            return Response(dispute_payload(dispute))

        return idempotent(request, staff, work)
