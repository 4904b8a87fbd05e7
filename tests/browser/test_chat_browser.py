"""The web app in a real browser: Debian's Chromium, driven by Playwright, against real daphne.

The buyer uses a desktop window, the provider a phone-sized one (375 by 667).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from accounts.services import user_ban
from chatbox.models import Conversation
from chatbox.services import message_send
from tests.browser.conftest import PASSWORD, Demo, outside_playwright

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_conversation(page: Page, demo: Demo) -> None:
    """From the inbox, open the demo conversation and wait until its socket is up."""
    page.get_by_role("link", name=re.compile(re.escape(demo.conversation_title))).click()
    expect(page).to_have_url(re.compile(rf"/conversations/{demo.conversation_id}/$"))
    page.wait_for_function("() => window.chatboxSocket?.state === 'open'")


def chatting(
    open_page: Callable[..., Page], demo: Demo, username: str, *, phone: bool = False
) -> Page:
    page = open_page(phone=phone)
    sign_in(page, username)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    open_conversation(page, demo)
    return page


def say(page: Page, text: str) -> None:
    composer = page.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")


def message(page: Page, text: str) -> Locator:
    """The stored messages (those with a seq) in the log whose text is exactly ``text``."""
    return (
        page.get_by_role("log").locator("[data-seq]").filter(has=page.get_by_text(text, exact=True))
    )


def seqs(page: Page) -> list[int]:
    values = (
        page.get_by_role("log")
        .locator("[data-seq]")
        .evaluate_all("elements => elements.map(element => Number(element.dataset.seq))")
    )
    return [int(value) for value in values]


def test_buyer_and_provider_chat_both_ways_in_real_time(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)

    # when
    say(buyer, "Hello from the buyer")

    # then
    expect(message(provider, "Hello from the buyer")).to_have_count(1)
    expect(message(buyer, "Hello from the buyer")).to_have_count(1)

    # when
    composer = provider.get_by_role("textbox", name="Message")
    composer.fill("Hi! Provider here.")
    composer.press("Shift+Enter")
    composer.press_sequentially("Starting tomorrow.")
    composer.press("Enter")

    # then
    for page in (buyer, provider):
        reply = page.get_by_role("log").locator("[data-seq]", has_text="Starting tomorrow.")
        expect(reply).to_have_count(1)
        expect(reply).to_contain_text("Hi! Provider here.")
        expect(reply.locator("br")).to_have_count(1)
    assert seqs(buyer) == seqs(provider)


def test_history_is_there_after_a_reload(demo: Demo, open_page: Callable[..., Page]) -> None:
    # given
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)
    say(buyer, "First, from the buyer")
    expect(message(provider, "First, from the buyer")).to_have_count(1)
    say(provider, "Second, from the provider")
    expect(message(buyer, "Second, from the provider")).to_have_count(1)
    before = seqs(buyer)

    # when
    buyer.reload()

    # then
    expect(message(buyer, "First, from the buyer")).to_have_count(1)
    expect(message(buyer, "Second, from the provider")).to_have_count(1)
    expect(buyer.get_by_role("log").locator("[data-seq]")).to_have_count(len(before))
    assert seqs(buyer) == before


def test_hostile_markup_shows_as_text_and_links_are_safe(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)

    # when
    say(buyer, HOSTILE)
    say(buyer, "The brief is at https://example.com")
    expect(message(provider, "The brief is at https://example.com")).to_have_count(1)
    provider.reload()  # the history, from the HTTP API this time

    # then
    for page in (buyer, provider):
        hostile = message(page, HOSTILE)
        expect(hostile).to_have_count(1)
        expect(hostile.locator("img, script")).to_have_count(0)
        link = message(page, "The brief is at https://example.com").get_by_role(
            "link", name="https://example.com"
        )
        expect(link).to_have_attribute("href", "https://example.com")
        rel = (link.get_attribute("rel") or "").split()
        assert "nofollow" in rel
        assert "noopener" in rel
        assert page.evaluate("typeof window.__pwned") == "undefined"


def test_a_dropped_socket_shows_reconnecting_and_catches_up_exactly_once(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)
    say(provider, "Before the drop")
    expect(message(buyer, "Before the drop")).to_have_count(1)
    status = buyer.get_by_role("status")

    # when
    buyer.evaluate("window.chatboxSocket.dropForTest({hold: true})")

    # then
    expect(status).to_have_text(re.compile("Reconnecting"))

    # when
    say(provider, "Sent while you were away")
    expect(message(provider, "Sent while you were away")).to_have_count(1)
    say(buyer, "Typed while offline")
    expect(buyer.locator("[data-client-id]", has_text="Typed while offline")).to_be_visible()
    expect(message(buyer, "Sent while you were away")).to_have_count(0)
    buyer.evaluate("window.chatboxSocket.resumeForTest()")

    # then
    expect(status).to_be_empty()
    expect(buyer.get_by_text(re.compile("Reconnecting"))).to_be_hidden()
    # The buyer's resend is answered after the replay: once it shows, the catch-up is complete.
    expect(message(buyer, "Typed while offline")).to_have_count(1)
    expect(buyer.locator("[data-client-id]")).to_have_count(0)
    expect(message(buyer, "Sent while you were away")).to_have_count(1)
    expect(message(provider, "Typed while offline")).to_have_count(1)
    shown = seqs(buyer)
    assert shown == sorted(set(shown))
    assert shown == seqs(provider)


def test_own_messages_can_be_edited_and_deleted(demo: Demo, open_page: Callable[..., Page]) -> None:
    # given
    buyer = chatting(open_page, demo, "buyer")
    provider = chatting(open_page, demo, "provider", phone=True)
    say(buyer, "The budget is 500")
    say(buyer, "Oops, wrong conversation")
    expect(message(provider, "Oops, wrong conversation")).to_have_count(1)
    # someone else's message can only be reported
    expect(message(provider, "The budget is 500").get_by_role("button")).to_have_text(["Report"])

    # when
    edited = message(buyer, "The budget is 500")
    edited.hover()
    edited.get_by_role("button", name="Edit").click()
    edited.get_by_role("textbox", name="New text").fill("The budget is 600")
    edited.get_by_role("button", name="Save").click()
    deleted = message(buyer, "Oops, wrong conversation")
    deleted.hover()
    buyer.once("dialog", lambda dialog: dialog.accept())
    deleted.get_by_role("button", name="Delete").click()
    expect(message(provider, "This message was deleted")).to_have_count(1)
    provider.reload()  # the history comes presented: latest text, deletions applied

    # then
    for page in (buyer, provider):
        expect(message(page, "The budget is 600")).to_have_count(1)
        expect(message(page, "The budget is 600").get_by_text("(edited)")).to_be_visible()
        expect(message(page, "The budget is 500")).to_have_count(0)
        expect(message(page, "This message was deleted")).to_have_count(1)
        expect(message(page, "Oops, wrong conversation")).to_have_count(0)
    assert seqs(buyer) == seqs(provider)


def test_sign_in_refuses_wrong_passwords_and_banned_accounts(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given
    outside_playwright(lambda: user_ban(user=User.objects.get(pk=demo.users["outsider"])))
    page = open_page()

    # when
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        sign_in(page, "buyer", "not-the-password")

    # then
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(page.get_by_label("Password")).to_be_visible()

    # when
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        sign_in(page, "outsider")

    # then
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("banned")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_non_member_gets_not_found(demo: Demo, open_page: Callable[..., Page]) -> None:
    # given
    page = open_page()
    sign_in(page, "outsider")
    expect(page.get_by_role("heading", name="Your conversations")).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile(re.escape(demo.conversation_title)))
    ).to_have_count(0)

    # when
    response = page.goto(f"/conversations/{demo.conversation_id}/")

    # then
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("log")).to_have_count(0)


def test_older_pages_load_when_scrolling_up(demo: Demo, open_page: Callable[..., Page]) -> None:
    # given messages after the demo's own events up to 120 events: three pages (50, 50, 20)
    def post_many() -> None:
        buyer = User.objects.get(pk=demo.users["buyer"])
        seeded = Conversation.objects.get(pk=demo.conversation_id).head_seq
        for n in range(seeded + 1, 121):
            message_send(
                conversation_id=demo.conversation_id,
                sender=buyer,
                client_id=uuid.uuid4(),
                body=f"Note {n}",
            )

    outside_playwright(post_many)
    buyer = chatting(open_page, demo, "buyer")
    log = buyer.get_by_role("log").locator("[data-seq]")
    expect(log).to_have_count(50)
    assert seqs(buyer) == list(range(71, 121))

    # when the buyer scrolls to the top, twice
    log.first.scroll_into_view_if_needed()
    expect(log).to_have_count(100)
    log.first.scroll_into_view_if_needed()

    # then the whole history is there, once each, in order, and the start is marked
    expect(log).to_have_count(120)
    assert seqs(buyer) == list(range(1, 121))
    expect(buyer.get_by_text("This is the start of the conversation.")).to_be_visible()


def test_signing_out_on_one_device_leaves_the_other_devices_chatting(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given the buyer on a laptop and a phone, and the provider
    laptop = chatting(open_page, demo, "buyer")
    phone = chatting(open_page, demo, "buyer", phone=True)
    provider = chatting(open_page, demo, "provider")
    phone.evaluate(
        """() => {
          window.__states = [];
          window.chatboxSocket.addEventListener("status", (e) => __states.push(e.detail.state));
        }"""
    )

    # when the buyer signs out on the laptop (the server closes all the buyer's sockets)
    laptop.get_by_role("button", name="Sign out").click()
    expect(laptop.get_by_role("button", name="Sign in")).to_be_visible()

    # then the phone, whose session is still good, comes back and goes on chatting
    phone.wait_for_function(
        "() => __states.includes('reconnecting') && window.chatboxSocket.state === 'open'"
    )
    say(phone, "Still here on my phone")
    expect(message(provider, "Still here on my phone")).to_have_count(1)
    expect(phone.get_by_role("textbox", name="Message")).to_be_enabled()
