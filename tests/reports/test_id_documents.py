"""ID and business documents: sniffed uploads, sealed at rest, reviewed by staff with MFA,
deleted after the decision, and every staff read in the evidence audit log."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from reports.models import EvidenceAccess, IdentityDocument
from reports.services import DOCUMENT_MAX_BYTES
from tests.factories import UserFactory
from tests.reports.conftest import JPEG, MARKER, PDF, PNG

pytestmark = pytest.mark.django_db


def _provider_client(username: str = "pia") -> tuple[User, Client]:
    provider = UserFactory(username=username, is_provider=True)
    client = Client()
    client.force_login(provider)
    return provider, client


def _upload(client: Client, content: bytes, name: str, kind: str | None = None) -> Any:
    data: dict[str, Any] = {"file": SimpleUploadedFile(name, content)}
    if kind is not None:
        data["kind"] = kind
    return client.post("/api/account/id-document/", data)


def _media_holds(marker: bytes) -> bool:
    media = Path(settings.MEDIA_ROOT)
    return media.exists() and any(
        marker in path.read_bytes() for path in media.rglob("*") if path.is_file()
    )


def _row_holds(marker: bytes) -> bool:
    for row in IdentityDocument.objects.values():
        for value in row.values():
            raw = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
            if marker in raw:
                return True
    return False


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PNG, "id.png", "image/png"),
        (JPEG, "id.jpg", "image/jpeg"),
        (PDF, "id.pdf", "application/pdf"),
    ],
)
def test_an_uploaded_document_is_stored_encrypted(
    content: bytes, name: str, content_type: str
) -> None:
    # given
    provider, client = _provider_client()
    # when
    response = _upload(client, content, name)
    # then
    assert response.status_code == 201
    document = IdentityDocument.objects.get()
    assert response.json() == {
        "id": str(document.pk),
        "kind": "identity",
        "state": "pending",
        "content_type": content_type,
        "size": len(content),
        "uploaded_at": document.uploaded_at.isoformat(),
        "decided_at": None,
        "reason": "",
        "file_stored": True,
    }
    assert document.user == provider
    assert document.ciphertext is not None
    assert MARKER not in bytes(document.ciphertext)
    assert len(bytes(document.ciphertext)) == len(content) + 40  # nonce 24 + tag 16
    assert not _row_holds(MARKER)
    assert not _media_holds(MARKER)


def test_a_business_document_is_its_own_kind() -> None:
    _, client = _provider_client()
    response = _upload(client, PDF, "registration.pdf", kind="business")
    assert response.status_code == 201
    assert IdentityDocument.objects.get().kind == "business"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"just text, not an image " + MARKER, "id.png"),
        (b"GIF89a" + b"\x00" * 20 + MARKER, "id.gif"),
        (b"<html><script>alert(1)</script></html>", "id.pdf"),
        (b"", "empty.png"),
    ],
)
def test_a_disguised_or_unsupported_file_is_refused_and_nothing_stored(
    content: bytes, name: str
) -> None:
    # given
    _, client = _provider_client()
    # when
    response = _upload(client, content, name)
    # then
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "file_type_unsupported"
    assert response.json()["error"]["fields"] == {"file": ["Upload a JPEG, PNG or PDF file."]}
    assert IdentityDocument.objects.count() == 0
    assert not _media_holds(MARKER)


def test_an_oversized_file_is_refused_and_nothing_stored() -> None:
    # given: a real PNG header, one byte over the limit
    _, client = _provider_client()
    content = PNG + b"\x00" * (DOCUMENT_MAX_BYTES + 1 - len(PNG))
    # when
    response = _upload(client, content, "big.png")
    # then
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "file_too_large",
        "message": "The document is larger than 10 MB.",
        "fields": {"file": ["At most 10 MB."], "max_bytes": DOCUMENT_MAX_BYTES},
    }
    assert IdentityDocument.objects.count() == 0


def test_a_file_at_the_limit_is_accepted() -> None:
    _, client = _provider_client()
    content = PNG + b"\x00" * (DOCUMENT_MAX_BYTES - len(PNG))
    response = _upload(client, content, "big.png")
    assert response.status_code == 201
    assert response.json()["size"] == DOCUMENT_MAX_BYTES


def test_an_upload_without_a_file_is_refused() -> None:
    _, client = _provider_client()
    response = client.post("/api/account/id-document/", {"kind": "identity"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_missing"
    assert IdentityDocument.objects.count() == 0


def test_an_unknown_kind_is_refused() -> None:
    _, client = _provider_client()
    response = _upload(client, PNG, "id.png", kind="passport")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == ["kind"]
    assert IdentityDocument.objects.count() == 0


def test_a_second_pending_document_of_a_kind_is_refused() -> None:
    # given
    _, client = _provider_client()
    assert _upload(client, PNG, "id.png").status_code == 201
    # when
    response = _upload(client, JPEG, "id.jpg")
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "document_pending"
    assert IdentityDocument.objects.count() == 1


def test_a_buyer_who_is_not_a_provider_cannot_upload() -> None:
    buyer = UserFactory(username="bea", is_buyer=True)
    client = Client()
    client.force_login(buyer)
    response = _upload(client, PNG, "id.png")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert IdentityDocument.objects.count() == 0


def test_a_visitor_cannot_upload() -> None:
    response = _upload(Client(), PNG, "id.png")
    assert response.status_code == 401
    assert IdentityDocument.objects.count() == 0


# -- staff ---------------------------------------------------------------------------------------


def _pending_document(username: str = "pia", kind: str = "identity") -> IdentityDocument:
    _, client = _provider_client(username)
    assert _upload(client, PNG, "id.png", kind=kind).status_code == 201
    return IdentityDocument.objects.get(user__username=username, kind=kind)


def test_staff_see_the_queue(staff_client: Client) -> None:
    # given
    document = _pending_document()
    # when
    response = staff_client.get("/api/staff/id-documents/")
    # then
    assert response.status_code == 200
    [entry] = response.json()
    assert entry["id"] == str(document.pk)
    assert entry["user"] == {"id": document.user_id, "username": "pia", "name": "Pia"}
    assert entry["file_url"] == f"/api/staff/id-documents/{document.pk}/file/"
    assert entry["state"] == "pending"


def test_each_staff_read_of_a_document_is_logged(staff: User, staff_client: Client) -> None:
    # given
    document = _pending_document()
    # when
    first = staff_client.get(f"/api/staff/id-documents/{document.pk}/file/")
    second = staff_client.get(f"/staff/id-documents/{document.pk}/file/")
    # then
    assert first.status_code == 200
    assert first.content == PNG
    assert first["Content-Type"] == "image/png"
    assert first["Cache-Control"] == "no-store, private"
    assert second.status_code == 200
    assert second.content == PNG
    reads = list(EvidenceAccess.objects.values_list("staff", "what", "object_id"))
    assert reads == [(staff.pk, "identity_document", str(document.pk))] * 2


def test_approving_sets_the_badge_and_deletes_the_file(staff: User, staff_client: Client) -> None:
    # given
    document = _pending_document()
    # when
    response = staff_client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "approve", "reason": ""},
        content_type="application/json",
    )
    # then
    assert response.status_code == 200
    assert response.json()["state"] == "approved"
    assert response.json()["file_stored"] is False
    assert response.json()["file_url"] is None
    assert response.json()["decided_by"] == {
        "id": staff.pk,
        "username": "sam",
        "name": "Sam Support",
    }
    document.refresh_from_db()
    assert (document.state, document.decided_by, document.reason) == ("approved", staff, "")
    assert (document.ciphertext, document.wrapped_key, document.kek_id) == (None, None, "")
    provider = User.objects.get(username="pia")
    assert provider.id_verified_at == document.decided_at
    assert provider.business_verified_at is None
    assert staff_client.get(f"/api/staff/id-documents/{document.pk}/file/").status_code == 404
    assert EvidenceAccess.objects.count() == 0  # the failed read opened nothing


def test_approving_a_business_document_sets_the_business_badge(staff_client: Client) -> None:
    document = _pending_document(kind="business")
    response = staff_client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == 200
    provider = User.objects.get(username="pia")
    assert provider.business_verified_at is not None
    assert provider.id_verified_at is None


def test_rejecting_keeps_the_reason_and_deletes_the_file(staff: User, staff_client: Client) -> None:
    # given
    document = _pending_document()
    # when
    response = staff_client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "reject", "reason": "The photo is blurred."},
        content_type="application/json",
    )
    # then
    assert response.status_code == 200
    document.refresh_from_db()
    assert (document.state, document.reason, document.decided_by) == (
        "rejected",
        "The photo is blurred.",
        staff,
    )
    assert (document.ciphertext, document.wrapped_key) == (None, None)
    assert User.objects.get(username="pia").id_verified_at is None
    # the provider reads the outcome, and may upload again
    provider_client = Client()
    provider_client.force_login(document.user)
    mine = provider_client.get("/api/account/id-document/").json()
    assert [(entry["state"], entry["reason"]) for entry in mine] == [
        ("rejected", "The photo is blurred.")
    ]
    assert _upload(provider_client, PNG, "id.png").status_code == 201


def test_rejecting_without_a_reason_is_refused_and_nothing_changes(staff_client: Client) -> None:
    document = _pending_document()
    response = staff_client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "reject", "reason": "  "},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["Say why, for the member to read."]}
    document.refresh_from_db()
    assert document.state == "pending"
    assert document.ciphertext is not None


def test_a_decided_document_cannot_be_decided_again(staff_client: Client) -> None:
    document = _pending_document()
    url = f"/api/staff/id-documents/{document.pk}/decision/"
    staff_client.post(url, {"decision": "approve"}, content_type="application/json")
    response = staff_client.post(
        url, {"decision": "reject", "reason": "late"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_decided"
    document.refresh_from_db()
    assert (document.state, document.reason) == ("approved", "")


def test_members_are_refused_by_the_staff_api() -> None:
    # given
    document = _pending_document()
    member = Client()
    member.force_login(UserFactory(username="bea", is_buyer=True))
    # when
    queue = member.get("/api/staff/id-documents/")
    read = member.get(f"/api/staff/id-documents/{document.pk}/file/")
    decision = member.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "approve"},
        content_type="application/json",
    )
    # then
    for response in (queue, read, decision):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert EvidenceAccess.objects.count() == 0
    document.refresh_from_db()
    assert document.state == "pending"
    assert User.objects.get(username="pia").id_verified_at is None


def test_staff_without_mfa_are_refused_by_the_staff_api() -> None:
    # given
    document = _pending_document()
    client = Client()
    client.force_login(UserFactory(username="nomfa", is_support=True))
    # when
    read = client.get(f"/api/staff/id-documents/{document.pk}/file/")
    decision = client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "approve"},
        content_type="application/json",
    )
    # then
    for response in (read, decision):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "mfa_required"
    assert EvidenceAccess.objects.count() == 0
    document.refresh_from_db()
    assert document.state == "pending"


def test_staff_cannot_decide_on_their_own_document(staff: User, staff_client: Client) -> None:
    staff.is_provider = True
    staff.save(update_fields=["is_provider"])
    assert _upload(staff_client, PNG, "id.png").status_code == 201
    document = IdentityDocument.objects.get(user=staff)
    response = staff_client.post(
        f"/api/staff/id-documents/{document.pk}/decision/",
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.state == "pending"


def test_rotating_the_master_key_rewraps_a_pending_document(settings, tmp_path) -> None:
    # given a pending document sealed under the current master key
    settings.KEYS_DIR = tmp_path
    settings.CHATBOX_MASTER_KEYS_FROM_ENV = False
    document = _pending_document()
    old_kek, old_ciphertext = document.kek_id, bytes(document.ciphertext)
    # when the master key is rotated and the old one retired from the ring
    call_command("rotate_master_key", stdout=StringIO())
    settings.CHATBOX_MASTER_KEYS = settings.CHATBOX_MASTER_KEYS[:1]
    # then the document is wrapped by the new key alone, and opens with the same bytes
    document.refresh_from_db()
    assert document.kek_id == settings.CHATBOX_MASTER_KEYS[0]["id"] != old_kek
    assert bytes(document.ciphertext) == old_ciphertext
    assert document.file_open() == PNG
