"""The case file's actions on a message, through Django's test client: "Remove text" on text and
file messages (the dialog case-file.js drives), a removed text shown as removed, and "Download
file" through the staff file API with the reason given for the read (docs/evidence.md,
"Redaction"; docs/files.md, "Downloads")."""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from accounts.models import User
from chatbox import files
from chatbox.models import ChatFile, Conversation, Event
from chatbox.services import message_edit, message_send, system_event_post
from reports.cases import case_event_redact, report_submit
from reports.models import EvidenceAccess
from tests.chatbox.files_helpers import png, upload
from tests.factories import UserFactory, conversation_between

pytestmark = pytest.mark.django_db

SECRET = "the stolen card number is 4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def _files_folder(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path


@pytest.fixture
def staff() -> User:
    agent = UserFactory(username="sam", display_name="Sam Support", is_support=True)
    TOTP.activate(agent, "JBSWY3DPEHPK3PXP")
    return agent


@pytest.fixture
def bea() -> User:
    return UserFactory(username="bea", display_name="Bea Buyer", is_buyer=True)


@pytest.fixture
def pia() -> User:
    return UserFactory(username="pia", display_name="Pia Provider", is_provider=True)


@pytest.fixture
def chat(bea: User, pia: User) -> Conversation:
    return conversation_between(bea, pia, title="Bakery logo")


def said(conversation: Conversation, sender: User, body: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def reported(conversation: Conversation, reporter: User, seq: int) -> int:
    report = report_submit(
        reporter=reporter,
        target={"type": "message", "conversation": str(conversation.pk), "seq": seq},
        reason="inappropriate",
    )
    assert report.case_id is not None
    return report.case_id


def case_file(staff: User, case_id: int, why: str = "Report of a card number") -> str:
    client = Client()
    client.force_login(staff)
    response = client.post(f"/staff/cases/{case_id}/", {"why": why})
    assert response.status_code == 200
    return str(response.content.decode())


def row_of(page: str, seq: int) -> str:
    found = re.search(rf'<tr data-seq="{seq}".*?</tr>', page, re.DOTALL)
    assert found is not None, f"no row for #{seq}"
    return found.group(0)


def remove_button(seq: int) -> str:
    return (
        f'<button type="button" class="button button--small" hidden data-redact-open '
        f'data-seq="{seq}">Remove text<span class="visually-hidden"> of message #{seq}</span>'
        "</button>"
    )


def test_messages_offer_remove_text_in_a_dialog_and_other_events_do_not(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given a reported message, another message, and a system event
    message = said(chat, pia, SECRET)
    other = said(chat, bea, "Please stop.")
    system = system_event_post(conversation_id=chat.pk, body="Contract started.")
    case_id = reported(chat, bea, message.seq)
    # when support reads the case file
    page = case_file(staff, case_id)
    # then each message has a "Remove text" button, which the script shows; the system event none
    assert remove_button(message.seq) in row_of(page, message.seq)
    assert remove_button(other.seq) in row_of(page, other.seq)
    assert "data-redact-open" not in row_of(page, system.seq)
    assert page.count("data-redact-open") == 2
    assert '<script type="module" src="/static/frontend/case-file.js"></script>' in page
    # and the dialog asks for a reason among the three, and a required "Why", for the API
    assert f'data-redact-url="/api/staff/cases/{case_id}/redact/"' in page
    reasons = re.search(
        r'<select id="redact-reason" name="reason" required>(.*?)</select>', page, re.DOTALL
    )
    assert reasons is not None
    assert re.findall(r'<option value="([^"]*)">([^<]*)</option>', reasons.group(1)) == [
        ("", "Choose a reason"),
        ("illegal_content", "Illegal content"),
        ("erasure_request", "Erasure request"),
        ("legal_order", "Legal order"),
    ]
    assert '<label class="field__label" for="redact-reason">Reason for removal</label>' in page
    assert '<label class="field__label" for="redact-why">Why</label>' in page
    assert re.search(r'<textarea id="redact-why" name="why"[^>]* required', page)
    assert 'name="csrfmiddlewaretoken"' in page
    # and the alert and notice areas it reports in are there, empty
    assert '<div class="alerts" role="alert" data-alerts></div>' in page
    assert 'role="status" tabindex="-1" data-redact-done></div>' in page


def test_a_removed_text_and_its_edits_show_as_removed_with_nothing_to_do(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given a message edited to a secret, reported, and removed by support
    message = said(chat, pia, "first version")
    edit = message_edit(
        conversation_id=chat.pk, editor=pia, client_id=uuid.uuid4(), seq=message.seq, body=SECRET
    )
    case_id = reported(chat, bea, message.seq)
    case_event_redact(
        staff=staff, case_id=case_id, seq=message.seq, reason="illegal_content", why="Card."
    )
    # when support reads the case file again
    page = case_file(staff, case_id)
    # then the message and its edit show as removed, with no text and no action
    removed = '<em class="case-record__removed">Text removed by support</em>'
    for seq in (message.seq, edit.seq):
        assert removed in row_of(page, seq)
        assert "data-redact-open" not in row_of(page, seq)
    assert SECRET not in page and "first version" not in page
    # and with nothing left to remove, neither the dialog nor its script is on the page
    assert "data-redact-dialog" not in page
    assert "case-file.js" not in page


def test_a_file_message_downloads_through_the_case_with_the_reason_for_reading(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given a file the provider sent, reported by the buyer
    content = png(320, 200)
    chat_file = files.file_send(
        conversation_id=chat.pk, sender=pia, file=upload(content, "design.png"), caption="Here."
    )
    case_id = reported(chat, bea, chat_file.event.seq)
    # when support reads the case file
    page = case_file(staff, case_id, why="Is it the delivered design?")
    # then the file's row links to the staff file API, with the reason given for the read
    row = row_of(page, chat_file.event.seq)
    link = re.search(
        r'<a class="button button--small" href="([^"]+)" download data-file-download>', row
    )
    assert link is not None
    href = html.unescape(link.group(1))
    assert href == (
        f"/api/staff/cases/{case_id}/files/{chat_file.pk}/?why=Is+it+the+delivered+design%3F"
    )
    assert 'Download file<span class="visually-hidden"> of message #' in row
    assert remove_button(chat_file.event.seq) in row
    # when support follows it
    client = Client()
    client.force_login(staff)
    response = client.get(href)
    # then the file comes as an attachment, and the read is logged with that reason
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Disposition"] == 'attachment; filename="design.png"'
    reads = EvidenceAccess.objects.order_by("pk").values_list("what", "object_id", "why")
    assert list(reads) == [
        (EvidenceAccess.What.CONVERSATION, str(chat.pk), "Is it the delivered design?"),
        (EvidenceAccess.What.FILE, str(chat_file.pk), "Is it the delivered design?"),
    ]


def test_a_removed_file_offers_no_download(
    staff: User, bea: User, pia: User, chat: Conversation
) -> None:
    # given a file support removed
    chat_file = files.file_send(
        conversation_id=chat.pk, sender=pia, file=upload(png(), "design.png")
    )
    case_id = reported(chat, bea, chat_file.event.seq)
    case_event_redact(
        staff=staff, case_id=case_id, seq=chat_file.event.seq, reason="legal_order", why="Order."
    )
    # when support reads the case file
    page = case_file(staff, case_id)
    # then the row shows the text removed, and offers neither a download nor a removal
    row = row_of(page, chat_file.event.seq)
    assert "Text removed by support" in row
    assert "data-file-download" not in page
    assert "data-redact-open" not in row
    assert ChatFile.objects.get(pk=chat_file.pk).event.redacted_at is not None
