"""The support console's case file in Chromium: a support agent signed in with TOTP reads a
reported conversation (an audited read) and

- removes the text of the reported message with "Remove text": the page shows it removed, the
  sealed text is gone from the database and a "redacted" event is in the chain;
- cancels the dialog, or leaves "Why" empty: nothing is sent and nothing changes;
- is refused when another agent removed it meanwhile: the alert area says why;
- downloads a reported file with "Download file": the very bytes, logged with the reason given
  for the read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import Locator, Page, Request, expect

from accounts.models import User
from chatbox import files
from chatbox.models import Conversation, Event
from chatbox.services import data_keys, event_payload, message_send
from reports.cases import case_event_redact, report_submit
from reports.models import CaseNote, EvidenceAccess
from tests.browser.conftest import Demo, outside_playwright
from tests.browser.test_report_case_warning import TOTP_SECRET, sign_in_with_totp
from tests.chatbox.files_helpers import png, upload
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Pay me off the platform, here is a stolen card number: 4111 1111 1111 1111"
WHY_READ = "Report of a stolen card number"


@dataclass(frozen=True)
class Reported:
    case_id: int
    seq: int
    conversation_id: str


def report(demo: Demo, seq: int) -> int:
    """The buyer reports message ``seq``: the case it opens."""
    made = report_submit(
        reporter=User.objects.get(pk=demo.users["buyer"]),
        target={"type": "message", "conversation": demo.conversation_id, "seq": seq},
        reason="inappropriate",
        note="A stolen card number.",
    )
    assert made.case_id is not None
    return made.case_id


@pytest.fixture
def reported_message(demo: Demo) -> Reported:
    """Before the browser starts: support has TOTP; the provider's message, reported."""
    TOTP.activate(User.objects.get(pk=demo.users["support"]), TOTP_SECRET)
    message = message_send(
        conversation_id=demo.conversation_id,
        sender=User.objects.get(pk=demo.users["provider"]),
        client_id=uuid.uuid4(),
        body=SECRET,
    )
    return Reported(report(demo, message.seq), message.seq, demo.conversation_id)


def read_case_file(page: Page, case_id: int, why: str = WHY_READ) -> Locator:
    """Support opens the case, says why, and reads the record: its table."""
    page.goto(f"/staff/cases/{case_id}/")
    page.get_by_label("Reason for reading").fill(why)
    page.get_by_role("button", name="Read the conversation").click()
    record = page.get_by_role("table", name="The conversation's record, event by event")
    expect(record).to_be_visible()
    return record


def sealed_body(seq: int, conversation_id: str) -> Any:
    event = Event.objects.get(conversation_id=conversation_id, seq=seq)
    return event_payload(event=event, keys=data_keys(conversation_id=event.conversation_id))["body"]


def redaction_state(reported: Reported) -> dict[str, Any]:
    """What the database says of the message: its sealed text, the chain's "redacted" events,
    the case's notes, and the conversation's last seq."""
    events = Event.objects.filter(conversation_id=reported.conversation_id)
    head = Conversation.objects.get(pk=reported.conversation_id).head_seq
    return {
        "body": sealed_body(reported.seq, reported.conversation_id),
        "redacted": [(event.seq, event.data) for event in events.filter(data__event="redacted")],
        "notes": list(CaseNote.objects.filter(case_id=reported.case_id).values_list("text")),
        "head": head,
    }


def requests_to(page: Page, path_end: str) -> list[str]:
    """Every request the page sends whose path ends with ``path_end``, as it is sent."""
    sent: list[str] = []

    def seen(request: Request) -> None:
        if request.url.split("?")[0].endswith(path_end):
            sent.append(request.method)

    page.on("request", seen)
    return sent


def test_support_removes_the_text_of_a_reported_message(
    reported_message: Reported, open_page: Callable[..., Page]
) -> None:
    reported = reported_message
    head = outside_playwright(lambda: redaction_state(reported))["head"]
    # given the agent reads the case file, the reported message as sent
    staff = open_page()
    sign_in_with_totp(staff, "support")
    record = read_case_file(staff, reported.case_id)
    row = record.get_by_role("row").filter(has_text="Reported message")
    text = row.locator("[data-record-text]")
    expect(text).to_have_text(SECRET)

    # when the agent removes its text, for illegal content, saying why
    row.get_by_role("button", name="Remove text").click()
    dialog = staff.get_by_role("dialog", name=f"Remove the text of message #{reported.seq}")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason for removal").select_option(label="Illegal content")
    dialog.get_by_label("Why").fill("A stolen card number, offered to pay off the platform.")
    dialog.get_by_role("button", name="Remove text").click()

    # then the page shows the message removed, with nothing left to remove
    expect(dialog).to_be_hidden()
    status = staff.get_by_role("status")
    expect(status).to_have_text(
        f"The text of message #{reported.seq} is removed. "
        f"The conversation says so in event #{head + 1}."
    )
    expect(status).to_be_focused()
    expect(text).to_have_text("Text removed by support")
    expect(row.get_by_role("button", name="Remove text")).to_have_count(0)
    expect(staff.get_by_role("alert")).to_have_text("")
    # and in the database the sealed text is gone, the chain says why, the case who and why
    assert outside_playwright(lambda: redaction_state(reported)) == {
        "body": None,
        "redacted": [
            (
                head + 1,
                {
                    "event": "redacted",
                    "seq": reported.seq,
                    "seqs": [reported.seq],
                    "reason": "illegal_content",
                },
            )
        ],
        "notes": [
            (
                f"Redacted the text of message #{reported.seq} (illegal content): "
                "A stolen card number, offered to pay off the platform.",
            )
        ],
        "head": head + 1,
    }


def test_cancelling_or_leaving_why_empty_removes_nothing(
    reported_message: Reported, open_page: Callable[..., Page]
) -> None:
    reported = reported_message
    before = outside_playwright(lambda: redaction_state(reported))
    assert before["body"] == SECRET
    # given the agent reads the case file, and every request to the redact API is watched
    staff = open_page()
    sign_in_with_totp(staff, "support")
    record = read_case_file(staff, reported.case_id)
    sent = requests_to(staff, f"/api/staff/cases/{reported.case_id}/redact/")
    row = record.get_by_role("row").filter(has_text="Reported message")
    dialog = staff.get_by_role("dialog", name=f"Remove the text of message #{reported.seq}")

    # when the agent confirms without saying why
    row.get_by_role("button", name="Remove text").click()
    dialog.get_by_label("Reason for removal").select_option(label="Erasure request")
    dialog.get_by_role("button", name="Remove text").click()
    # then the dialog stays, and says what is missing
    expect(dialog.get_by_text("Say why you remove it.")).to_be_visible()
    expect(dialog.get_by_label("Why")).to_be_focused()
    expect(dialog.get_by_label("Why")).to_have_attribute("aria-invalid", "true")

    # when the agent fills it in, then cancels
    dialog.get_by_label("Why").fill("The member asked for it.")
    dialog.get_by_role("button", name="Cancel").click()
    # then the dialog closes and the message stays as it was
    expect(dialog).to_be_hidden()
    expect(row.locator("[data-record-text]")).to_have_text(SECRET)
    expect(row.get_by_role("button", name="Remove text")).to_be_focused()

    # when the agent opens it again and presses Escape
    row.get_by_role("button", name="Remove text").click()
    expect(dialog.get_by_label("Why")).to_have_value("")  # a fresh form each time
    dialog.get_by_label("Reason for removal").select_option(label="Legal order")
    dialog.get_by_label("Why").fill("A court order.")
    staff.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # then nothing was sent, and nothing changed, on the page or in the database
    expect(row.locator("[data-record-text]")).to_have_text(SECRET)
    expect(staff.get_by_role("status")).to_have_text("")
    assert sent == []
    assert outside_playwright(lambda: redaction_state(reported)) == before


def test_a_refusal_is_shown_in_the_alert_area(
    reported_message: Reported, open_page: Callable[..., Page]
) -> None:
    reported = reported_message
    # given the agent reads the case file
    staff = open_page()
    sign_in_with_totp(staff, "support")
    record = read_case_file(staff, reported.case_id)
    row = record.get_by_role("row").filter(has_text="Reported message")

    # and meanwhile another agent removes the text
    def removed_elsewhere() -> None:
        case_event_redact(
            staff=UserFactory(username="olga", display_name="Olga Support", is_support=True),
            case_id=reported.case_id,
            seq=reported.seq,
            reason="legal_order",
            why="Court order 12/2025.",
        )

    outside_playwright(removed_elsewhere)
    after_other = outside_playwright(lambda: redaction_state(reported))

    # when this agent tries too
    row.get_by_role("button", name="Remove text").click()
    dialog = staff.get_by_role("dialog", name=f"Remove the text of message #{reported.seq}")
    dialog.get_by_label("Reason for removal").select_option(label="Illegal content")
    dialog.get_by_label("Why").fill("A stolen card number.")
    dialog.get_by_role("button", name="Remove text").click()

    # then the alert area says it is removed already, and nothing more happened
    expect(dialog).to_be_hidden()
    alert = staff.get_by_role("alert")
    expect(alert).to_contain_text(f"Message #{reported.seq} is already redacted.")
    expect(staff.get_by_role("status")).to_have_text("")
    assert outside_playwright(lambda: redaction_state(reported)) == after_other
    assert len(after_other["redacted"]) == 1
    # and the alert can be dismissed
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_text("")


@dataclass(frozen=True)
class ReportedFile:
    case_id: int
    file_id: str
    content: bytes
    conversation_id: str


@pytest.fixture
def reported_file(demo: Demo) -> ReportedFile:
    """Before the browser starts: support has TOTP; a file the provider sent, reported."""
    TOTP.activate(User.objects.get(pk=demo.users["support"]), TOTP_SECRET)
    content = png(480, 320)
    chat_file = files.file_send(
        conversation_id=demo.conversation_id,
        sender=User.objects.get(pk=demo.users["provider"]),
        file=upload(content, "design.png"),
        caption="The final design.",
    )
    return ReportedFile(
        report(demo, chat_file.event.seq), str(chat_file.pk), content, demo.conversation_id
    )


def test_support_downloads_a_reported_file_and_the_read_is_logged(
    reported_file: ReportedFile, open_page: Callable[..., Page]
) -> None:
    # given the agent reads the case file
    staff = open_page()
    sign_in_with_totp(staff, "support")
    record = read_case_file(staff, reported_file.case_id, why="Is it the delivered design?")
    row = record.get_by_role("row").filter(has_text="Reported message")
    expect(row).to_contain_text("The final design.")

    # when the agent downloads the file
    with staff.expect_download() as downloading:
        row.get_by_role("link", name="Download file").click()

    # then it is the very file, under its name
    download = downloading.value
    assert Path(download.path()).read_bytes() == reported_file.content
    assert download.suggested_filename == "design.png"
    # and the download is logged, with the reason given for the read, after the read itself
    why = "Is it the delivered design?"
    assert outside_playwright(
        lambda: list(
            EvidenceAccess.objects.order_by("pk").values_list("what", "object_id", "why", "case")
        )
    ) == [
        ("conversation", reported_file.conversation_id, why, reported_file.case_id),
        ("file", reported_file.file_id, why, reported_file.case_id),
    ]
