"""Contact details in a real browser (PROTOCOL.md §4, issue 6's first point): before the
contract is funded, the provider who types a phone number is told before sending that it will
be hidden, and the buyer sees a placeholder."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Demo
from tests.browser.test_chat_browser import chatting, message, say

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_phone_number_is_flagged_before_sending_and_hidden_from_the_buyer(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given the demo's unfunded contract, both parties in its chat
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)

    # when the provider types a phone number, and has not sent it yet
    composer = provider.get_by_role("textbox", name="Message")
    composer.fill("Call me on +44 20 7946 0958 to talk it through")

    # then they are told what will be hidden, and why
    notice = provider.get_by_role("status").filter(has_text="will hide phone numbers")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Until the contract is funded")

    # when they send it
    composer.press("Enter")

    # then both see the placeholder, never the number
    for page in (buyer, provider):
        expect(message(page, "Call me on [phone hidden] to talk it through")).to_have_count(1)
        expect(page.get_by_role("log")).not_to_contain_text("7946")
    expect(notice).to_be_hidden()

    # and a clean message raises no notice
    say(provider, "The draft is ready on 2026-12-01 at 10:30")
    expect(message(buyer, "The draft is ready on 2026-12-01 at 10:30")).to_have_count(1)
    expect(provider.locator("[data-contact-notice]")).to_be_hidden()
