"""Support staff's casework on people: account actions (enforced at once on every open
socket, PROTOCOL.md §6), ID and business documents, vetting, and the evidence audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_ban, user_suspend
from chatbox import realtime, uploads
from chatbox.errors import ApplicationError, ErrorCode
from projects.models import ProviderProfile
from reports.errors import ReportsErrorCode
from reports.models import EvidenceAccess, IdentityDocument, VettingRequest
from reports.selectors import staff_required


@transaction.atomic
def account_ban(*, user: User) -> User:
    user = user_ban(user=user)
    realtime.close_user_sockets(user_id=user.pk, code=realtime.CLOSE_BANNED)
    return user


@transaction.atomic
def account_suspend(*, user: User, until: datetime | None) -> User:
    # Sockets stay open: a suspended user still reads; each write re-reads the standing.
    return user_suspend(user=user, until=until)


# -- ID and business documents -------------------------------------------------------------------

DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# What the file's bytes are (sniffed), never what its name or the client claims.
DOCUMENT_TYPES = {uploads.JPEG: "JPEG", uploads.PNG: "PNG", uploads.PDF: "PDF"}
REASON_MAX = 2000

_VERIFIED_FIELD = {
    IdentityDocument.Kind.IDENTITY: "id_verified_at",
    IdentityDocument.Kind.BUSINESS: "business_verified_at",
}


def _document_verified(*, user: User, kind: str) -> bool:
    return getattr(user, _VERIFIED_FIELD[IdentityDocument.Kind(kind)]) is not None


def identity_document_submit(*, user: User, kind: str, file: File) -> IdentityDocument:
    """Seal an uploaded ID or business document for review; nothing is stored when refused."""
    if not user.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers verify an ID or a business.")
    if kind not in IdentityDocument.Kind.values:
        raise ApplicationError(
            ErrorCode.INVALID,
            "The document is not valid.",
            {"kind": [f"Choose one of: {', '.join(IdentityDocument.Kind.values)}."]},
        )
    if file.size is None or file.size > DOCUMENT_MAX_BYTES:
        raise ApplicationError(
            ReportsErrorCode.FILE_TOO_LARGE,
            "The document is larger than 10 MB.",
            {"file": ["At most 10 MB."], "max_bytes": DOCUMENT_MAX_BYTES},
        )
    file.seek(0)
    content = file.read(DOCUMENT_MAX_BYTES + 1)
    if len(content) > DOCUMENT_MAX_BYTES:  # the size the client declared was wrong
        raise ApplicationError(
            ReportsErrorCode.FILE_TOO_LARGE,
            "The document is larger than 10 MB.",
            {"file": ["At most 10 MB."], "max_bytes": DOCUMENT_MAX_BYTES},
        )
    content_type = uploads.sniff(content, DOCUMENT_TYPES)
    if content_type is None:
        raise ApplicationError(
            ReportsErrorCode.FILE_TYPE_UNSUPPORTED,
            "The document must be a JPEG or PNG image or a PDF.",
            {"file": ["Upload a JPEG, PNG or PDF file."]},
        )
    if _document_verified(user=user, kind=kind):
        raise ApplicationError(
            ReportsErrorCode.ALREADY_VERIFIED, "This is verified already.", {"kind": kind}
        )
    document = IdentityDocument(
        id=uuid.uuid4(), user=user, kind=kind, content_type=content_type, size=len(content)
    )
    document.file_seal(content)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
    except IntegrityError as exc:  # one_pending_document_per_kind
        raise ApplicationError(
            ReportsErrorCode.DOCUMENT_PENDING,
            "A document of this kind is waiting for review already.",
            {"kind": kind},
        ) from exc
    return document


@dataclass(frozen=True)
class DocumentFile:
    document: IdentityDocument
    content: bytes


@transaction.atomic
def identity_document_read(*, staff: User, document_id: str) -> DocumentFile:
    """Decrypt a pending document for support staff, and log the read (``EvidenceAccess``).

    The log row is written in the same transaction as the read: no read without its record.
    """
    staff_required(user=staff)
    document = IdentityDocument.objects.filter(pk=document_id).first()
    if document is None or document.sealed is None:
        raise ApplicationError(
            ErrorCode.NOT_FOUND, "No such document, or its file was deleted after the decision."
        )
    EvidenceAccess.objects.create(
        staff=staff, what=EvidenceAccess.What.IDENTITY_DOCUMENT, object_id=str(document.pk)
    )
    content = document.file_open()
    return DocumentFile(document=document, content=content)


def _reason(*, reason: str, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise ApplicationError(
            ErrorCode.INVALID, "Give a reason.", {"reason": ["Say why, for the member to read."]}
        )
    if len(reason) > REASON_MAX:
        raise ApplicationError(
            ErrorCode.INVALID,
            "The reason is too long.",
            {"reason": [f"At most {REASON_MAX} characters."]},
        )
    return reason


@transaction.atomic
def identity_document_decide(
    *, staff: User, document_id: str, decision: str, reason: str
) -> IdentityDocument:
    """Approve (the badge) or reject (with a reason) a pending document; the file is deleted.

    A conditional update from ``pending``: of two staff deciding at once, one wins and the
    other is told ``already_decided``.
    """
    staff_required(user=staff)
    if decision not in ("approve", "reject"):
        raise ApplicationError(
            ErrorCode.INVALID, "The decision is not valid.", {"decision": ["approve or reject"]}
        )
    reason = _reason(reason=reason, required=decision == "reject")
    document = IdentityDocument.objects.filter(pk=document_id).select_related("user").first()
    if document is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such document.")
    if document.user_id == staff.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Staff do not decide on their own documents.")
    now = timezone.now()
    state = (
        IdentityDocument.State.APPROVED
        if decision == "approve"
        else IdentityDocument.State.REJECTED
    )
    changed = IdentityDocument.objects.filter(
        pk=document.pk, state=IdentityDocument.State.PENDING
    ).update(
        state=state,
        decided_by=staff,
        decided_at=now,
        reason=reason,
        kek_id="",
        wrapped_key=None,
        ciphertext=None,
    )
    if changed != 1:
        raise ApplicationError(
            ReportsErrorCode.ALREADY_DECIDED,
            "This document was decided already.",
            {"state": document.state},
        )
    if state == IdentityDocument.State.APPROVED:
        field = _VERIFIED_FIELD[IdentityDocument.Kind(document.kind)]
        User.objects.filter(pk=document.user_id, **{f"{field}__isnull": True}).update(
            **{field: now}
        )
    document.refresh_from_db()
    return document


# -- vetting -------------------------------------------------------------------------------------


def vetting_request_submit(*, provider: User) -> VettingRequest:
    """A provider with a saved profile asks to be screened; one open request at a time."""
    if not provider.is_provider:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Only providers are vetted.")
    if provider.is_vetted:
        raise ApplicationError(ReportsErrorCode.ALREADY_VETTED, "You are vetted already.")
    if not ProviderProfile.objects.filter(user=provider).exists():
        raise ApplicationError(
            ReportsErrorCode.PROFILE_MISSING, "Save your profile before asking to be vetted."
        )
    try:
        with transaction.atomic():
            return VettingRequest.objects.create(user=provider)
    except IntegrityError as exc:  # one_pending_vetting_request
        raise ApplicationError(
            ReportsErrorCode.VETTING_PENDING, "Your profile is waiting for review already."
        ) from exc


@transaction.atomic
def vetting_request_decide(
    *, staff: User, request_id: int, decision: str, reason: str
) -> VettingRequest:
    """Vet the provider (the "Vetted" badge) or ask for changes with a reason."""
    staff_required(user=staff)
    if decision not in ("vet", "changes"):
        raise ApplicationError(
            ErrorCode.INVALID, "The decision is not valid.", {"decision": ["vet or changes"]}
        )
    reason = _reason(reason=reason, required=decision == "changes")
    found = VettingRequest.objects.filter(pk=request_id).first()
    if found is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such vetting request.")
    if found.user_id == staff.pk:
        raise ApplicationError(ErrorCode.FORBIDDEN, "Staff do not vet themselves.")
    now = timezone.now()
    state = VettingRequest.State.VETTED if decision == "vet" else VettingRequest.State.CHANGES
    changed = VettingRequest.objects.filter(pk=found.pk, state=VettingRequest.State.PENDING).update(
        state=state, decided_by=staff, decided_at=now, reason=reason
    )
    if changed != 1:
        raise ApplicationError(
            ReportsErrorCode.ALREADY_DECIDED,
            "This request was decided already.",
            {"state": found.state},
        )
    if state == VettingRequest.State.VETTED:
        User.objects.filter(pk=found.user_id, vetted_at__isnull=True).update(vetted_at=now)
    found.refresh_from_db()
    return found
