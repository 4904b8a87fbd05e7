"""The HTTP API of trust and safety (PROTOCOL.md §6): reports, the support queue and case
files, account actions and appeals.

Members: ``POST /api/reports/``, ``GET /api/account/actions/``,
``POST /api/account/actions/{id}/appeal/``. Support staff, with MFA: ``GET /api/reports/`` (the
queue), ``POST /api/users/{id}/actions/``, and ``/api/staff/cases/…``, ``/api/staff/appeals/…``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import IsStaffMember
from accounts.errors import AccountErrorCode
from accounts.models import User
from accounts.selectors import mfa_totp_enabled
from chatbox.api import evidence_response
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.evidence_export import evidence_export_for_party
from chatbox.file_api import attachment_response
from chatbox.redaction import REASONS
from reports import actions, cases, helpdesk
from reports.models import AccountAction, Appeal, Case, CaseNote, Report
from reports.risk import risk_of


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class StaffWithMFA(BasePermission):
    """Support staff with a TOTP authenticator (routes outside ``/api/staff/``, which the
    middleware guards, check it here)."""

    message = "Support staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not IsStaffMember().has_permission(request, view):
            return False
        if not mfa_totp_enabled(user=_user(request)):
            raise ApplicationError(
                AccountErrorCode.MFA_REQUIRED,
                "Set up two-factor authentication (TOTP) before using staff tools.",
            )
        return True


def _person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.name, "username": user.username} if user else None


def case_payload(case: Case, *, fraud_score: int | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"type": case.target_type}
    if case.target_type == Case.TargetType.MESSAGE:
        target.update(conversation=str(case.conversation_id), seq=case.seq, hash=case.event_hash)
    elif case.target_type == Case.TargetType.PROJECT:
        target["id"] = case.project_id
    elif case.target_type == Case.TargetType.USER:
        target["id"] = case.subject_id
    else:
        target["conversation"] = str(case.conversation_id) if case.conversation_id else None
    payload = {
        "id": case.pk,
        "kind": case.kind,
        "status": case.status,
        "target": target,
        "subject": _person(case.subject),
        "reason": case.reason,
        "report_count": case.report_count,
        "money_at_stake": case.money_at_stake,
        "currency": case.currency,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "resolution": case.resolution,
    }
    if fraud_score is not None:
        payload["fraud_score"] = fraud_score
    return payload


def report_payload(report: Report) -> dict[str, Any]:
    return {
        "id": report.pk,
        "case": report.case_id,
        "status": report.case.status,
        "reason": report.reason,
        "created_at": report.created_at.isoformat(),
    }


def action_payload(action: AccountAction) -> dict[str, Any]:
    appeal: Appeal | None = getattr(action, "appeal", None)
    return {
        "id": action.pk,
        "user": action.user_id,
        "action": action.kind,
        "until": action.until.isoformat() if action.until else None,
        "reason": action.reason,
        "at": action.at.isoformat(),
        "lifted_at": action.lifted_at.isoformat() if action.lifted_at else None,
        "appeal": appeal_payload(appeal) if appeal else None,
    }


def appeal_payload(appeal: Appeal) -> dict[str, Any]:
    return {
        "id": appeal.pk,
        "action": appeal.action_id,
        "text": appeal.text,
        "state": appeal.state,
        "at": appeal.at.isoformat(),
        "answer": appeal.answer,
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
    }


def note_payload(note: CaseNote) -> dict[str, Any]:
    return {"id": note.pk, "author": _person(note.author), "text": note.text, "at": note.at}


def _body(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


# -- reports and the queue ---------------------------------------------------------------------


class ReportsView(APIView):
    """``POST``: report a message, member or listing (any member who can see it). ``GET``: the
    queue of open cases, most urgent first (support staff with MFA; 403 to others)."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "GET":
            return [StaffWithMFA()]
        return [IsAuthenticated()]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        body = _body(request)
        report = cases.report_submit(
            reporter=_user(request),
            target=body.get("target"),
            reason=body.get("reason"),
            note=body.get("note", ""),
        )
        return Response(report_payload(report), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        queue = cases.case_queue(staff=_user(request))
        return Response([case_payload(e.case, fraud_score=e.fraud_score) for e in queue])


class CaseFileView(APIView):
    """``POST {"why"}``: the case file, with the conversation's record decrypted — an audited
    read, allowed while the case is open."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, case_id: int) -> Response:
        found = cases.case_file_read(
            staff=_user(request), case_id=case_id, why=_body(request).get("why", "")
        )
        subject_risk = (
            risk_of(user_ids=[found.case.subject_id])[found.case.subject_id]
            if found.case.subject_id
            else None
        )
        return Response(
            {
                "case": case_payload(found.case),
                "reports": [
                    {**report_payload(r), "reporter": _person(r.reporter), "note": r.note}
                    for r in found.reports
                ],
                "notes": [note_payload(n) for n in found.notes],
                "timeline": found.timeline,
                "related": [case_payload(c) for c in found.related],
                "risk": {"score": subject_risk.score, "signals": subject_risk.points}
                if subject_risk
                else None,
            }
        )


class CaseEvidenceView(APIView):
    """``GET ?why=…``: the evidence bundle (zip) of the case's conversation — an audited
    export, allowed while the case is open."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, case_id: int) -> HttpResponse:
        bundle = cases.case_evidence_export(
            staff=_user(request), case_id=case_id, why=request.query_params.get("why", "")
        )
        return evidence_response(bundle)


class ConversationEvidenceView(APIView):
    """``GET /api/conversations/{id}/evidence/`` (PROTOCOL.md §2): the bundle for one of the
    conversation's parties, or for support staff with MFA through an open case on it
    (``?why=…``, audited). It lives here, not in ``chatbox``, because only this layer knows
    cases."""

    @extend_schema(
        responses={(200, "application/zip"): bytes},
        description="The evidence bundle (zip) of PROTOCOL.md §5: a party's, or support's with "
        "an open case on the conversation (`?why=` required, logged). Others get 404.",
    )
    def get(self, request: Request, conversation_id: str) -> HttpResponse:
        user = _user(request)
        try:
            bundle = evidence_export_for_party(user=user, conversation_id=conversation_id)
        except ApplicationError as refused:
            not_a_party = refused.code in (ErrorCode.NOT_MEMBER, ErrorCode.NOT_FOUND)
            # Staff without MFA learn what everyone else does: nothing (404).
            support = IsStaffMember().has_permission(request, self) and mfa_totp_enabled(user=user)
            if not not_a_party or not support:
                raise
            bundle = cases.conversation_evidence_for_staff(
                staff=user, conversation_id=conversation_id, why=request.query_params.get("why", "")
            )
        return evidence_response(bundle)


class CaseChatFileView(APIView):
    """``GET ?why=…``: one file of the case's conversation, as an attachment — an audited
    read, allowed while the case is open."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, case_id: int, file_id: str) -> StreamingHttpResponse:
        delivery = cases.case_chat_file(
            staff=_user(request),
            case_id=case_id,
            file_id=file_id,
            why=request.query_params.get("why", ""),
        )
        return attachment_response(delivery)


class RedactRequest(serializers.Serializer[Any]):
    seq = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=sorted(REASONS))
    why = serializers.CharField(allow_blank=True, default="")


class CaseRedactView(APIView):
    """``POST {"seq", "reason", "why"}``: remove the text of a message of the case's
    conversation (``chatbox.redaction``), while the case is open."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=RedactRequest, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, case_id: int) -> Response:
        form = RedactRequest(data=request.data)
        form.is_valid(raise_exception=True)
        redaction = cases.case_event_redact(
            staff=_user(request), case_id=case_id, **form.validated_data
        )
        return Response(
            {
                "seq": redaction.seq,
                "redacted": redaction.redacted_seqs,
                "redaction_seq": redaction.notice.seq,
            }
        )


class CaseNoteView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, case_id: int) -> Response:
        note = cases.case_note_add(
            staff=_user(request), case_id=case_id, text=_body(request).get("text", "")
        )
        return Response(note_payload(note), status=status.HTTP_201_CREATED)


class CaseCloseView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, case_id: int) -> Response:
        case = cases.case_close(
            staff=_user(request),
            case_id=case_id,
            resolution=_body(request).get("resolution", ""),
        )
        return Response(case_payload(case))


class CaseHideView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, case_id: int) -> Response:
        case = cases.message_hide(
            staff=_user(request), case_id=case_id, reason=_body(request).get("reason", "")
        )
        return Response(case_payload(case))


# -- account actions and appeals ---------------------------------------------------------------


class UserActionsView(APIView):
    """``POST {"action", "until", "reason", "case"}``: warn, suspend or ban (support staff)."""

    permission_classes = [StaffWithMFA]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, user_id: int) -> Response:
        body = _body(request)
        case = body.get("case")
        action = actions.account_action_take(
            staff=_user(request),
            user_id=user_id,
            action=body.get("action"),
            reason=body.get("reason"),
            until=body.get("until"),
            case_id=case if isinstance(case, int) and not isinstance(case, bool) else None,
        )
        return Response(action_payload(action), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, user_id: int) -> Response:
        found = actions.account_actions_for_staff(staff=_user(request), user_id=user_id)
        return Response([action_payload(a) for a in found])


class MyActionsView(APIView):
    """The actions on the member's own account, with their reasons and appeals."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        found = actions.account_actions_of(user=_user(request))
        return Response([action_payload(a) for a in found])


class AppealView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, action_id: int) -> Response:
        appeal = actions.appeal_submit(
            user=_user(request), action_id=action_id, text=_body(request).get("text", "")
        )
        return Response(appeal_payload(appeal), status=status.HTTP_201_CREATED)


class StaffAppealsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {**appeal_payload(a), "action_detail": action_payload(a.action)}
                for a in actions.appeals_pending(staff=_user(request))
            ]
        )


class StaffAppealDecisionView(APIView):
    """``POST {"overturn": bool, "answer"}``."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, appeal_id: int) -> Response:
        body = _body(request)
        overturn = body.get("overturn")
        if not isinstance(overturn, bool):
            raise ApplicationError(
                AccountErrorCode.INVALID,
                "Say whether the appeal overturns the action.",
                {"overturn": ["true or false"]},
            )
        appeal = actions.appeal_decide(
            staff=_user(request),
            appeal_id=appeal_id,
            overturn=overturn,
            answer=body.get("answer", ""),
        )
        return Response(appeal_payload(appeal))


class HelpView(APIView):
    """``POST``: the member's conversation with the support team (made on first use)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        conversation = helpdesk.help_conversation_open(user=_user(request))
        return Response({"conversation": str(conversation.pk)})
