"""Reads of support staff's casework: the queues, and what a provider sees of their own cases."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from chatbox.errors import ApplicationError, ErrorCode
from reports.models import IdentityDocument, VettingRequest

STAFF_ONLY = "Support staff only."


def staff_required(*, user: User) -> None:
    if not user.is_staff_member or user.is_banned:
        raise ApplicationError(ErrorCode.FORBIDDEN, STAFF_ONLY)


def identity_documents_pending(*, staff: User) -> QuerySet[IdentityDocument]:
    """The ID review queue, oldest first."""
    staff_required(user=staff)
    return IdentityDocument.objects.filter(state=IdentityDocument.State.PENDING).select_related(
        "user"
    )


def identity_document_for_staff(*, staff: User, document_id: str) -> IdentityDocument:
    staff_required(user=staff)
    document = (
        IdentityDocument.objects.filter(pk=document_id).select_related("user", "decided_by").first()
    )
    if document is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such document.")
    return document


def identity_documents_of(*, user: User) -> QuerySet[IdentityDocument]:
    """The user's own documents, newest first (metadata only; never the file)."""
    return IdentityDocument.objects.filter(user=user).order_by("-uploaded_at", "-pk")


def vetting_requests_pending(*, staff: User) -> QuerySet[VettingRequest]:
    """The vetting queue, oldest first."""
    staff_required(user=staff)
    return VettingRequest.objects.filter(state=VettingRequest.State.PENDING).select_related("user")


def vetting_request_for_staff(*, staff: User, request_id: int) -> VettingRequest:
    staff_required(user=staff)
    found = VettingRequest.objects.filter(pk=request_id).select_related("user").first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such vetting request.")
    return found


def vetting_latest_of(*, user: User) -> VettingRequest | None:
    """The provider's latest vetting request: what their profile editor shows."""
    return VettingRequest.objects.filter(user=user).order_by("-requested_at", "-pk").first()
