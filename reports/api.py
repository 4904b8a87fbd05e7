"""The HTTP API of support staff's casework on people: ID documents and vetting.

Members: ``POST/GET /api/account/id-document/``, ``POST/GET /api/profiles/me/vetting/``.
Staff (MFA required by ``accounts.middleware.StaffMFAMiddleware``): ``/api/staff/…``.
Errors are ``ApplicationError``s, in the error shape of PROTOCOL.md §2.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import IsStaffMember
from accounts.models import User
from chatbox.errors import ApplicationError
from chatbox.uploads import upload_view
from reports import selectors, services
from reports.errors import ReportsErrorCode
from reports.models import IdentityDocument, VettingRequest


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def person_payload(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.name}


def document_payload(document: IdentityDocument) -> dict[str, Any]:
    return {
        "id": str(document.pk),
        "kind": document.kind,
        "state": document.state,
        "content_type": document.content_type,
        "size": document.size,
        "uploaded_at": document.uploaded_at.isoformat(),
        "decided_at": document.decided_at.isoformat() if document.decided_at else None,
        "reason": document.reason,
        "file_stored": document.ciphertext is not None,
    }


def staff_document_payload(document: IdentityDocument) -> dict[str, Any]:
    return {
        **document_payload(document),
        "user": person_payload(document.user),
        "decided_by": person_payload(document.decided_by) if document.decided_by else None,
        "file_url": (
            f"/api/staff/id-documents/{document.pk}/file/"
            if document.ciphertext is not None
            else None
        ),
    }


def vetting_payload(found: VettingRequest) -> dict[str, Any]:
    return {
        "id": found.pk,
        "state": found.state,
        "requested_at": found.requested_at.isoformat(),
        "decided_at": found.decided_at.isoformat() if found.decided_at else None,
        "reason": found.reason,
    }


def staff_vetting_payload(found: VettingRequest) -> dict[str, Any]:
    return {
        **vetting_payload(found),
        "user": person_payload(found.user),
        "profile_url": f"/profiles/{found.user.username}/",
    }


class DocumentSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=IdentityDocument.Kind.choices)
    state = serializers.ChoiceField(choices=IdentityDocument.State.choices)
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    file_stored = serializers.BooleanField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class StaffDocumentSerializer(DocumentSerializer):
    user = PersonSerializer()
    decided_by = PersonSerializer(allow_null=True)
    file_url = serializers.CharField(allow_null=True)


class VettingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=VettingRequest.State.choices)
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class StaffVettingSerializer(VettingSerializer):
    user = PersonSerializer()
    profile_url = serializers.CharField()


class DocumentUpload(serializers.Serializer):
    file = serializers.FileField(required=False, allow_empty_file=True)
    kind = serializers.ChoiceField(
        choices=IdentityDocument.Kind.choices, default=IdentityDocument.Kind.IDENTITY
    )


class DocumentDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(allow_blank=True, default="", max_length=services.REASON_MAX)


class VettingDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["vet", "changes"])
    reason = serializers.CharField(allow_blank=True, default="", max_length=services.REASON_MAX)


# -- members -------------------------------------------------------------------------------------


@upload_view(max_file_bytes=services.DOCUMENT_MAX_BYTES)
class MyIdentityDocumentView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses={200: DocumentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        documents = selectors.identity_documents_of(user=_user(request))
        return Response([document_payload(document) for document in documents])

    @extend_schema(
        request={"multipart/form-data": DocumentUpload},
        responses={201: DocumentSerializer},
        description="A JPEG, PNG or PDF of at most 10 MB (the bytes decide, not the name). "
        "`kind`: `identity` (government ID, default) or `business` (registration document).",
    )
    def post(self, request: Request) -> Response:
        form = DocumentUpload(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data.get("file")
        if upload is None:
            raise ApplicationError(
                ReportsErrorCode.FILE_MISSING,
                "Attach the document as the multipart field `file`.",
                {"file": ["This field is required."]},
            )
        document = services.identity_document_submit(
            user=_user(request), kind=form.validated_data["kind"], file=upload
        )
        return Response(document_payload(document), status=status.HTTP_201_CREATED)


class MyVettingView(APIView):
    @extend_schema(responses={200: VettingSerializer(allow_null=True)})
    def get(self, request: Request) -> Response:
        latest = selectors.vetting_latest_of(user=_user(request))
        return Response(vetting_payload(latest) if latest else None)

    @extend_schema(request=None, responses={201: VettingSerializer})
    def post(self, request: Request) -> Response:
        found = services.vetting_request_submit(provider=_user(request))
        return Response(vetting_payload(found), status=status.HTTP_201_CREATED)


# -- support staff -------------------------------------------------------------------------------


class StaffDocumentQueueView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: StaffDocumentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        queue = selectors.identity_documents_pending(staff=_user(request))
        return Response([staff_document_payload(document) for document in queue])


class StaffDocumentFileView(APIView):
    """The decrypted file; every read is written to the evidence audit log."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, document_id: uuid.UUID) -> HttpResponse:
        opened = services.identity_document_read(staff=_user(request), document_id=str(document_id))
        return document_file_response(opened)


def document_file_response(opened: services.DocumentFile) -> HttpResponse:
    """The file as its sniffed type, shown inline, never cached, never re-sniffed."""
    response = HttpResponse(opened.content, content_type=opened.document.content_type)
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
    name = f"{opened.document.kind}-{opened.document.pk}.{extension[opened.document.content_type]}"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


class StaffDocumentDecisionView(APIView):
    permission_classes = [IsStaffMember]
    parser_classes = [JSONParser]

    @extend_schema(request=DocumentDecisionInput, responses={200: StaffDocumentSerializer})
    def post(self, request: Request, document_id: uuid.UUID) -> Response:
        form = DocumentDecisionInput(data=request.data)
        form.is_valid(raise_exception=True)
        document = services.identity_document_decide(
            staff=_user(request),
            document_id=str(document_id),
            decision=form.validated_data["decision"],
            reason=form.validated_data["reason"],
        )
        return Response(staff_document_payload(document))


class StaffVettingQueueView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses={200: StaffVettingSerializer(many=True)})
    def get(self, request: Request) -> Response:
        queue = selectors.vetting_requests_pending(staff=_user(request))
        return Response([staff_vetting_payload(found) for found in queue])


class StaffVettingDecisionView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=VettingDecisionInput, responses={200: StaffVettingSerializer})
    def post(self, request: Request, request_id: int) -> Response:
        form = VettingDecisionInput(data=request.data)
        form.is_valid(raise_exception=True)
        found = services.vetting_request_decide(
            staff=_user(request),
            request_id=request_id,
            decision=form.validated_data["decision"],
            reason=form.validated_data["reason"],
        )
        return Response(staff_vetting_payload(found))
