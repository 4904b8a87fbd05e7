"""Who may export a conversation's evidence, over HTTP."""

from __future__ import annotations

import io
import zipfile

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from accounts.models import User
from chatbox.evidence import verify_bundle
from chatbox.models import Checkpoint, Conversation
from reports.cases import case_close, report_submit
from reports.models import EvidenceAccess
from tests.chatbox.evidence_helpers import append_many
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_party_downloads_the_bundle(conversation: Conversation, buyer: User) -> None:
    response = client_of(buyer).get(f"/api/conversations/{conversation.pk}/evidence/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="evidence-{conversation.pk}-seq1.zip"'
    )
    assert verify_bundle(response.content).events == 1


def test_others_learn_nothing_and_nothing_is_signed(
    conversation: Conversation, outsider: User
) -> None:
    staff = UserFactory(username="sam", is_support=True)
    for user in (outsider, staff):
        response = client_of(user).get(f"/api/conversations/{conversation.pk}/evidence/")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert not Checkpoint.objects.exists()


def test_staff_export_for_an_open_case_is_audited(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given a report of the provider's message, which opens a case
    append_many(conversation, [provider], 1)
    report = report_submit(
        reporter=buyer,
        target={"type": "message", "conversation": str(conversation.pk), "seq": 2},
        reason="spam",
    )
    staff = UserFactory(username="sam", is_support=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    url = f"/api/staff/cases/{report.case_id}/evidence/"
    # when support exports without a reason, then with one
    refused = client_of(staff).get(url)
    response = client_of(staff).get(url, {"why": "Checking the reported message"})
    # then only the second is served, and it is logged with the case
    assert refused.status_code == 400
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert verify_bundle(response.content).events == 2
    manifest = zipfile.ZipFile(io.BytesIO(response.content)).read("manifest.json")
    assert b'"as": "support"' in manifest
    [access] = EvidenceAccess.objects.all()
    assert (access.staff, access.case_id, access.object_id, access.why) == (
        staff,
        report.case_id,
        str(conversation.pk),
        "Evidence bundle: Checking the reported message",
    )
    # and once the case is closed, no more
    case_close(staff=staff, case_id=report.case_id, resolution="Warned.")
    closed = client_of(staff).get(url, {"why": "again"})
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "closed")
    assert EvidenceAccess.objects.count() == 1


def test_staff_with_an_open_case_export_at_the_conversations_own_url(
    conversation: Conversation, buyer: User, provider: User, outsider: User
) -> None:
    # given support staff with MFA, and no case on the conversation yet
    staff = UserFactory(username="sam", is_support=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    url = f"/api/conversations/{conversation.pk}/evidence/"
    no_case = client_of(staff).get(url, {"why": "curious"})
    assert (no_case.status_code, no_case.json()["error"]["code"]) == (404, "not_found")
    # when a report opens a case, support exports at PROTOCOL.md's one URL, with a reason
    append_many(conversation, [provider], 1)
    report = report_submit(
        reporter=buyer,
        target={"type": "message", "conversation": str(conversation.pk), "seq": 2},
        reason="spam",
    )
    refused = client_of(staff).get(url)
    response = client_of(staff).get(url, {"why": "Checking the reported message"})
    # then only the one with a reason is served, whole, and logged with the case
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    assert response.status_code == 200
    assert verify_bundle(response.content).events == 2
    [access] = EvidenceAccess.objects.all()
    assert (access.staff, access.case_id, access.why) == (
        staff,
        report.case_id,
        "Evidence bundle: Checking the reported message",
    )
    # and a member who is no party still learns nothing, as does a malformed id
    outsider_answer = client_of(outsider).get(url, {"why": "x"})
    assert outsider_answer.status_code == 404
    bad_id = client_of(staff).get("/api/conversations/not-an-id/evidence/", {"why": "x"})
    assert (bad_id.status_code, bad_id.json()["error"]["code"]) == (404, "not_found")
    assert EvidenceAccess.objects.count() == 1
