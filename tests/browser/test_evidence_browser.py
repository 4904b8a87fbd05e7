"""The evidence page in a real browser compares the signed checkpoint this device holds (in
localStorage, kept by the chat) with the server's record: a checkpoint the chat received is
confirmed, one whose head the server's event does not have is flagged, and a seq the page does
not carry is checked through the messages API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from chatbox.checkpoints import checkpoint_document, conversation_checkpoint
from chatbox.models import Conversation, Event
from tests.browser.conftest import Demo
from tests.browser.test_money_browser import in_chat, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Signed:
    checkpoint: dict[str, Any]  # the document the server pushes to clients
    first_event_hash: str  # seq 1 is never signed here
    head_seq: int


@pytest.fixture
def signed(demo: Demo) -> Signed:
    """The demo conversation signed at its head (as an export does). Made before the browser
    starts: Playwright's loop forbids the ORM afterwards."""
    checkpoint = conversation_checkpoint(conversation_id=demo.conversation_id)
    assert checkpoint.seq > 1
    return Signed(
        checkpoint=checkpoint_document(checkpoint),
        first_event_hash=Event.objects.get(conversation_id=demo.conversation_id, seq=1).hash,
        head_seq=Conversation.objects.get(pk=demo.conversation_id).head_seq,
    )


def key_of(demo: Demo) -> str:
    return f"chatbox.checkpoint.{demo.conversation_id}"


def hold(page: Page, demo: Demo, checkpoint: dict[str, Any]) -> None:
    """Put ``checkpoint`` in this device's storage, where the chat keeps the one it receives."""
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [key_of(demo), json.dumps(checkpoint)],
    )


def evidence_page(page: Page, demo: Demo) -> None:
    page.goto(f"/conversations/{demo.conversation_id}/evidence/")


def extends(seq: int) -> re.Pattern[str]:
    return re.compile(
        rf"^The server's record extends the checkpoint this device holds at seq {seq}: "
    )


def differs(seq: int) -> re.Pattern[str]:
    return re.compile(
        rf"^The record on the server differs from the checkpoint this device holds at seq {seq}: "
    )


def test_the_checkpoint_the_chat_received_is_confirmed(
    demo: Demo, signed: Signed, open_page: Callable[..., Page]
) -> None:
    # given the buyer opened the chat, whose socket handed this device the latest checkpoint
    buyer = open_page()
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    buyer.wait_for_function("(key) => localStorage.getItem(key) !== null", arg=key_of(demo))
    seq = signed.checkpoint["seq"]

    # when the buyer follows "Evidence"
    buyer.get_by_role("link", name="Evidence").click()

    # then the page confirms that the server's record extends it, and warns of nothing
    confirmation = buyer.get_by_role("status").filter(has_text=extends(seq))
    expect(confirmation).to_have_text(extends(seq))
    expect(confirmation).to_contain_text(f"({signed.checkpoint['head'][:16]}…)")
    expect(buyer.get_by_text(f"This device holds a checkpoint of seq {seq} ")).to_be_visible()
    expect(buyer.get_by_text("differs from the checkpoint")).to_have_count(0)


def test_a_checkpoint_whose_head_the_server_does_not_have_is_flagged(
    demo: Demo, signed: Signed, open_page: Callable[..., Page]
) -> None:
    # given this device holds the checkpoint's seq with another head
    buyer = open_page()
    sign_in(buyer, "buyer")
    seq, head = signed.checkpoint["seq"], signed.checkpoint["head"]
    wrong_head = "0" * 64
    hold(buyer, demo, {**signed.checkpoint, "head": wrong_head})

    # when the buyer opens the evidence page
    evidence_page(buyer, demo)

    # then the page warns that the server's record differs, naming both hashes
    warning = buyer.get_by_role("alert").filter(has_text=differs(seq))
    expect(warning).to_have_text(
        f"The record on the server differs from the checkpoint this device holds at seq {seq}: "
        f"this device holds head {wrong_head[:16]}…, "
        f"the server's event {seq} has hash {head[:16]}…."
    )
    expect(buyer.get_by_text("The server's record extends")).to_have_count(0)


def test_a_seq_the_server_did_not_sign_is_checked_against_its_event(
    demo: Demo, signed: Signed, open_page: Callable[..., Page]
) -> None:
    buyer = open_page()
    sign_in(buyer, "buyer")

    # when this device holds a checkpoint at seq 1, which the page carries no hash for
    hold(buyer, demo, {**signed.checkpoint, "seq": 1, "head": signed.first_event_hash})
    with buyer.expect_response(re.compile(r"/messages/\?after=0&limit=1$")):
        evidence_page(buyer, demo)
    # then the page asked the server for event 1, and it matches
    expect(buyer.get_by_role("status").filter(has_text=extends(1))).to_be_visible()
    expect(buyer.get_by_text("differs from the checkpoint")).to_have_count(0)

    # when this device holds a checkpoint beyond the server's last event
    beyond = signed.head_seq + 5
    hold(buyer, demo, {**signed.checkpoint, "seq": beyond})
    evidence_page(buyer, demo)
    # then the server's record lacks events this device has seen signed
    expect(buyer.get_by_role("alert").filter(has_text=differs(beyond))).to_have_text(
        f"The record on the server differs from the checkpoint this device holds at seq "
        f"{beyond}: the server has no event {beyond}."
    )
    expect(buyer.get_by_text("The server's record extends")).to_have_count(0)
