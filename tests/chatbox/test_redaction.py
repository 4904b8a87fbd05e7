"""Support redacts a message's text (chatbox.redaction, through reports.cases): the text goes,
the commitment and hash stay, the chain and the bundles still verify, and the redaction is
itself an event. Support also reads a file through its case, logged."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from accounts.models import User
from chatbox import files
from chatbox.evidence import verify_bundle
from chatbox.models import ChatFile, Conversation, Event, FileDownload
from chatbox.presenters import messages_present, record_present
from chatbox.services import (
    conversation_chain_verify,
    data_keys,
    event_payload,
    message_edit,
    message_send,
    system_event_post,
)
from reports.cases import case_close, report_submit
from reports.models import CaseNote, EvidenceAccess
from tests.chatbox.evidence_helpers import bundle_for, members
from tests.chatbox.files_helpers import png, stored_files, upload
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db

SECRET = "call me on the burner, the stolen card number is 4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def _files_folder(settings: Any, tmp_path: Path, tasks_in_process: None) -> None:
    """Files of each test in a folder of its own; previews made in process."""
    settings.DATA_DIR = tmp_path


@pytest.fixture
def staff() -> User:
    member = UserFactory(username="sam", is_support=True)
    TOTP.activate(member, "JBSWY3DPEHPK3PXP")
    return member


def say(conversation: Conversation, sender: User, body: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reported(conversation: Conversation, reporter: User, seq: int) -> int:
    """A report of message ``seq``, which opens a case on the conversation; the case's id."""
    report = report_submit(
        reporter=reporter,
        target={"type": "message", "conversation": str(conversation.pk), "seq": seq},
        reason="inappropriate",
    )
    assert report.case_id is not None
    return report.case_id


def redact(staff: User, case_id: int, **body: Any) -> Any:
    return client_of(staff).post(
        f"/api/staff/cases/{case_id}/redact/", body, content_type="application/json"
    )


def sealed(event: Event) -> dict[str, Any]:
    event.refresh_from_db()
    return event_payload(event=event, keys=data_keys(conversation_id=event.conversation_id))


def test_the_text_goes_and_the_chain_still_verifies(
    conversation: Conversation, buyer: User, provider: User, staff: User
) -> None:
    # given a provider's message, reported by the buyer
    message = say(conversation, provider, SECRET)
    before = (message.hash, message.body_commit, message.prev)
    case_id = reported(conversation, buyer, message.seq)
    # when support redacts it
    response = redact(
        staff, case_id, seq=message.seq, reason="illegal_content", why="Card numbers."
    )
    # then the sealed text is gone, and what the chain holds of it is unchanged
    assert response.status_code == 200
    notice = Event.objects.get(conversation=conversation, seq=response.json()["redaction_seq"])
    assert response.json() == {
        "seq": message.seq,
        "redacted": [message.seq],
        "redaction_seq": notice.seq,
    }
    payload = sealed(message)
    assert (payload["body"], payload["salt"], payload["html"]) == (None, None, "")
    assert "spans" not in payload
    assert (message.hash, message.body_commit, message.prev) == before
    assert message.redacted_at is not None and message.fingerprint == ""
    assert conversation_chain_verify(conversation_id=conversation.pk).ok
    # and the redaction is an event naming the seq, with the reason
    assert notice.kind == Event.Kind.SYSTEM
    assert notice.data == {
        "event": "redacted",
        "seq": message.seq,
        "seqs": [message.seq],
        "reason": "illegal_content",
    }
    # and members see a notice, support's record no text, the case a note of who and why
    [shown] = messages_present(conversation_id=conversation.pk, events=[message])
    assert shown["body"] == "This message was removed by support."
    assert shown["data"]["redacted"] is True
    [entry] = [
        e for e in record_present(conversation_id=conversation.pk) if e["seq"] == message.seq
    ]
    assert (entry["body"], entry["redacted"]) == ("", True)
    [note] = CaseNote.objects.filter(case_id=case_id)
    assert note.author == staff
    assert note.text == (
        f"Redacted the text of message #{message.seq} (illegal content): Card numbers."
    )


def test_the_edits_of_a_redacted_message_go_with_it(
    conversation: Conversation, buyer: User, provider: User, staff: User
) -> None:
    message = say(conversation, provider, "first version")
    edit = message_edit(
        conversation_id=conversation.pk,
        editor=provider,
        client_id=uuid.uuid4(),
        seq=message.seq,
        body=SECRET,
    )
    case_id = reported(conversation, buyer, message.seq)
    response = redact(staff, case_id, seq=message.seq, reason="erasure_request", why="Asked.")
    assert response.json()["redacted"] == [message.seq, edit.seq]
    assert sealed(edit)["body"] is None
    message.refresh_from_db()
    [shown] = messages_present(conversation_id=conversation.pk, events=[message])
    assert shown["body"] == "This message was removed by support."
    assert conversation_chain_verify(conversation_id=conversation.pk).ok


def test_bundles_verify_with_the_event_hash_only(
    conversation: Conversation, buyer: User, provider: User, staff: User
) -> None:
    message = say(conversation, provider, SECRET)
    case_id = reported(conversation, buyer, message.seq)
    redact(staff, case_id, seq=message.seq, reason="illegal_content", why="Card numbers.")
    for who in (provider, buyer):
        bundle = bundle_for(who, conversation)
        summary = verify_bundle(bundle)
        assert summary.hash_only >= 1
        assert SECRET.encode() not in b"".join(members(bundle).values())
    staff_bundle = client_of(staff).get(
        f"/api/staff/cases/{case_id}/evidence/", {"why": "Arbitration."}
    )
    assert verify_bundle(staff_bundle.content).events == conversation.events.count()
    assert SECRET.encode() not in staff_bundle.content


def test_a_redacted_file_loses_its_bytes_and_bundles_list_it_withheld(
    conversation: Conversation,
    buyer: User,
    provider: User,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a file with its previews, which the buyer reported
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = files.file_send(
            conversation_id=conversation.pk,
            sender=provider,
            file=upload(png(), "design.png"),
            caption=SECRET,
        )
    chat_file.refresh_from_db()
    assert chat_file.preview_state == ChatFile.Preview.READY
    assert len(stored_files()) == 3  # the original, its preview and its thumbnail
    case_id = reported(conversation, buyer, chat_file.event.seq)
    # when support redacts it
    with django_capture_on_commit_callbacks(execute=True):
        response = redact(
            staff, case_id, seq=chat_file.event.seq, reason="illegal_content", why="x"
        )
    # then nothing of it is left on disk, and nobody gets it any more
    assert response.status_code == 200
    assert stored_files() == []
    link = client_of(buyer).get(f"/api/files/{chat_file.pk}/link/")
    assert (link.status_code, link.json()["error"]["code"]) == (404, "not_found")
    assert FileDownload.objects.count() == 0
    staff_read = client_of(staff).get(
        f"/api/staff/cases/{case_id}/files/{chat_file.pk}/", {"why": "look"}
    )
    assert staff_read.status_code == 404
    # and the bundles still verify, naming the file as withheld
    bundle = bundle_for(buyer, conversation)
    summary = verify_bundle(bundle)
    assert summary.withheld_files == 1
    manifest = zipfile.ZipFile(io.BytesIO(bundle)).read("manifest.json")
    assert chat_file.sha256.encode() in manifest
    assert f"files/{chat_file.sha256}" not in members(bundle)


def test_support_reads_a_file_through_an_open_case_and_the_read_is_logged(
    conversation: Conversation, buyer: User, provider: User, staff: User
) -> None:
    content = png()
    chat_file = files.file_send(
        conversation_id=conversation.pk, sender=provider, file=upload(content, "design.png")
    )
    case_id = reported(conversation, buyer, chat_file.event.seq)
    url = f"/api/staff/cases/{case_id}/files/{chat_file.pk}/"
    # without a reason: refused, nothing logged
    refused = client_of(staff).get(url)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    assert not EvidenceAccess.objects.exists()
    # with one: the original, as an attachment, logged, and no buyer's receipt posted
    response = client_of(staff).get(url, {"why": "Is it the delivered design?"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Disposition"] == 'attachment; filename="design.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    [access] = EvidenceAccess.objects.all()
    assert (access.staff, access.what, access.object_id, access.case_id, access.why) == (
        staff,
        EvidenceAccess.What.FILE,
        str(chat_file.pk),
        case_id,
        "Is it the delivered design?",
    )
    assert FileDownload.objects.count() == 0
    assert not Event.objects.filter(data__event="file_downloaded").exists()
    # a member, or staff without a case on it, get nothing; a closed case reads nothing
    assert client_of(buyer).get(url, {"why": "x"}).status_code == 403
    case_close(staff=staff, case_id=case_id, resolution="Fine.")
    closed = client_of(staff).get(url, {"why": "again"})
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "closed")
    assert EvidenceAccess.objects.count() == 1


def test_a_case_reads_only_files_of_its_own_conversation(
    conversation: Conversation, buyer: User, provider: User, outsider: User, staff: User
) -> None:
    elsewhere = conversation_between(outsider, provider)
    other_file = files.file_send(
        conversation_id=elsewhere.pk, sender=provider, file=upload(png(), "other.png")
    )
    message = say(conversation, provider, "hello")
    case_id = reported(conversation, buyer, message.seq)
    for file_id in (other_file.pk, "not-a-file-id", uuid.uuid4()):
        response = client_of(staff).get(
            f"/api/staff/cases/{case_id}/files/{file_id}/", {"why": "fishing"}
        )
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert not EvidenceAccess.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"seq": 1, "reason": "because", "why": "x"}, 400, "invalid"),
        ({"seq": 1, "reason": "illegal_content", "why": ""}, 400, "invalid"),
        ({"seq": "one", "reason": "illegal_content", "why": "x"}, 400, "invalid"),
        ({"seq": True, "reason": "illegal_content", "why": "x"}, 400, "invalid"),
        ({"seq": 0, "reason": "illegal_content", "why": "x"}, 400, "invalid"),
        ({"seq": 99, "reason": "illegal_content", "why": "x"}, 404, "not_found"),
        ({"seq": "system", "reason": "illegal_content", "why": "x"}, 400, "invalid"),
    ],
)
def test_bad_redactions_are_refused_and_change_nothing(
    conversation: Conversation,
    buyer: User,
    provider: User,
    staff: User,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    message = say(conversation, provider, SECRET)
    case_id = reported(conversation, buyer, message.seq)
    system = system_event_post(conversation_id=conversation.pk, body="Contract started.")
    if body["seq"] == "system":
        body = {**body, "seq": system.seq}
    head = Conversation.objects.get(pk=conversation.pk).head_seq
    response = redact(staff, case_id, **body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert sealed(message)["body"] == SECRET
    assert not Event.objects.filter(redacted_at__isnull=False).exists()
    assert Conversation.objects.get(pk=conversation.pk).head_seq == head
    assert not CaseNote.objects.exists()


def test_twice_is_a_conflict_and_only_staff_with_an_open_case_redact(
    conversation: Conversation, buyer: User, provider: User, staff: User
) -> None:
    message = say(conversation, provider, SECRET)
    case_id = reported(conversation, buyer, message.seq)
    body = {"seq": message.seq, "reason": "illegal_content", "why": "x"}
    # a member may not
    assert redact(buyer, case_id, **body).status_code == 403
    assert sealed(message)["body"] == SECRET
    # support may, once
    assert redact(staff, case_id, **body).status_code == 200
    again = redact(staff, case_id, **body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "closed")
    assert Event.objects.filter(data__event="redacted").count() == 1
    # and not through a closed case
    second = say(conversation, provider, "more")
    case_close(staff=staff, case_id=case_id, resolution="Done.")
    closed = redact(staff, case_id, seq=second.seq, reason="illegal_content", why="x")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "closed")
    assert sealed(second)["body"] == "more"
