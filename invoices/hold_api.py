"""Payment protection over HTTP: the buyer asks support to keep a withdrawn contract's escrow,
and support grants or releases the hold. Staff paths are under ``/api/staff/``, where
``accounts.middleware.StaffMFAMiddleware`` requires MFA. Every unsafe request takes an
``Idempotency-Key``, as all money requests do (``invoices.idempotency``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import IsStaffMember
from invoices import schedules
from invoices.api import KEY
from invoices.idempotency import idempotent
from invoices.models import EscrowHold
from projects.api import signed_in
from projects.marketplace_api import parsed


def _hold_fields() -> dict[str, serializers.Field]:
    return {
        "id": serializers.IntegerField(),
        "contract": serializers.IntegerField(),
        "state": serializers.CharField(help_text="requested, granted or released"),
    }


HOLD = inline_serializer("EscrowHold", _hold_fields())
HOLDS = inline_serializer("EscrowHoldList", _hold_fields(), many=True)


def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def hold_payload(hold: EscrowHold) -> dict[str, Any]:
    return {
        "id": hold.pk,
        "contract": hold.contract_id,
        "state": hold.state,
        "reason": hold.reason,
        "requested_by": hold.requested_by_id,
        "requested_at": hold.requested_at.isoformat(),
        "granted_by": hold.granted_by_id,
        "granted_at": _moment(hold.granted_at),
        "released_by": hold.released_by_id,
        "released_at": _moment(hold.released_at),
    }


class HoldInput(serializers.Serializer):
    reason = serializers.CharField(max_length=schedules.REASON_MAX)


class ContractEscrowHoldView(APIView):
    @extend_schema(request=HoldInput, parameters=[KEY], responses={201: HOLD})
    def post(self, request: Request, contract_id: int) -> Response:
        user = signed_in(request)

        def work() -> Response:
            data = parsed(HoldInput, request.data)
            hold = schedules.escrow_hold_request(
                buyer=user, contract_id=contract_id, reason=data["reason"]
            )
            return Response(hold_payload(hold), status=status.HTTP_201_CREATED)

        return idempotent(request, user, work)


class StaffEscrowHoldsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: HOLDS})
    def get(self, request: Request) -> Response:
        holds = schedules.escrow_holds_open(staff=signed_in(request))
        return Response([hold_payload(hold) for hold in holds])


class StaffEscrowHoldGrantView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=None, parameters=[KEY], responses={200: HOLD})
    def post(self, request: Request, hold_id: int) -> Response:
        staff = signed_in(request)
        return idempotent(
            request,
            staff,
            lambda: Response(
                hold_payload(schedules.escrow_hold_grant(staff=staff, hold_id=hold_id))
            ),
        )


class StaffEscrowHoldReleaseView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=None, parameters=[KEY], responses={200: HOLD})
    def post(self, request: Request, hold_id: int) -> Response:
        staff = signed_in(request)
        return idempotent(
            request,
            staff,
            lambda: Response(
                hold_payload(schedules.escrow_hold_release(staff=staff, hold_id=hold_id))
            ),
        )
