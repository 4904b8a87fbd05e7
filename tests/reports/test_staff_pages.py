"""The staff pages: in the app's frame, staff with MFA only, decisions and audited reads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from reports.models import EvidenceAccess, IdentityDocument, VettingRequest
from tests.factories import UserFactory
from tests.projects.profiles import provider_with_profile
from tests.reports.conftest import PDF, PNG

pytestmark = pytest.mark.django_db

PAGES = ["/staff/", "/staff/id-documents/", "/staff/vetting/"]


def _document(content: bytes = PNG, name: str = "id.png") -> IdentityDocument:
    provider = UserFactory(username="pia", is_provider=True)
    client = Client()
    client.force_login(provider)
    response = client.post(
        "/account/id/", {"kind": "identity", "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 302
    return IdentityDocument.objects.get()


@pytest.mark.parametrize("path", PAGES)
def test_staff_pages_are_in_the_app_frame(staff_client: Client, path: str) -> None:
    response = staff_client.get(path)
    assert response.status_code == 200
    assert '<a class="app-bar__brand" href="/">Chatbox</a>' in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_members_get_a_403_page(path: str) -> None:
    client = Client()
    client.force_login(UserFactory(username="bea"))
    response = client.get(path)
    assert response.status_code == 403
    assert "This page is for support staff." in response.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_staff_without_mfa_are_sent_to_mfa_setup(path: str) -> None:
    client = Client()
    client.force_login(UserFactory(username="nomfa", is_support=True))
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/totp/activate/?next=")


def test_the_review_page_shows_the_image_and_each_read_is_logged(
    staff: User, staff_client: Client
) -> None:
    # given
    document = _document()
    # when
    page = staff_client.get(f"/staff/id-documents/{document.pk}/")
    image = staff_client.get(f"/staff/id-documents/{document.pk}/file/")
    # then
    html = page.content.decode()
    assert f'<img src="/staff/id-documents/{document.pk}/file/"' in html
    assert image.content == PNG
    assert image["X-Frame-Options"] == "SAMEORIGIN"
    assert list(EvidenceAccess.objects.values_list("staff", "object_id")) == [
        (staff.pk, str(document.pk))
    ]


def test_a_pdf_is_embedded(staff_client: Client) -> None:
    document = _document(PDF, "id.pdf")
    html = staff_client.get(f"/staff/id-documents/{document.pk}/").content.decode()
    assert f'<object data="/staff/id-documents/{document.pk}/file/" type="application/pdf"' in html


def test_rejecting_on_the_page_keeps_the_reason(staff: User, staff_client: Client) -> None:
    # given
    document = _document()
    # when
    response = staff_client.post(
        f"/staff/id-documents/{document.pk}/", {"decision": "reject", "reason": "Expired."}
    )
    # then
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.state, document.reason, document.ciphertext) == ("rejected", "Expired.", None)
    provider = Client()
    provider.force_login(document.user)
    assert "Rejected</strong> — Expired." in provider.get("/account/id/").content.decode()


def test_a_page_decision_without_a_reason_is_shown_again(staff_client: Client) -> None:
    document = _document()
    response = staff_client.post(f"/staff/id-documents/{document.pk}/", {"decision": "reject"})
    assert response.status_code == 400
    assert "Say why, for the member to read." in response.content.decode()
    document.refresh_from_db()
    assert document.state == "pending"


def test_a_disguised_upload_on_the_page_is_refused() -> None:
    client = Client()
    client.force_login(UserFactory(username="pia", is_provider=True))
    response = client.post(
        "/account/id/", {"kind": "identity", "file": SimpleUploadedFile("id.png", b"plain text")}
    )
    assert response.status_code == 400
    assert "Upload a JPEG, PNG or PDF file." in response.content.decode()
    assert IdentityDocument.objects.count() == 0


def test_vetting_from_the_editor_to_the_badge(taxonomy: None, staff_client: Client) -> None:
    # given
    provider = provider_with_profile("pia")
    client = Client()
    client.force_login(provider)
    asked = client.post("/profile/vetting/")
    found = VettingRequest.objects.get()
    # when
    queue = staff_client.get("/staff/vetting/").content.decode()
    decided = staff_client.post(f"/staff/vetting/{found.pk}/decision/", {"decision": "vet"})
    # then
    assert asked["Location"] == "/profile/edit/"
    assert '<h2 id="vetting-' in queue and "Pia</h2>" in queue
    assert decided.status_code == 302
    provider.refresh_from_db()
    assert provider.is_vetted
    assert (
        "Your profile is <strong>vetted</strong>" in client.get("/profile/edit/").content.decode()
    )
