"""The marketplace in a real browser: the demo buyer posts a project; the demo provider, on a
phone, finds it among the recommendations, sees the free bids left and sends a proposal; the
buyer opens the project from the inbox, accepts, lands on the contract and follows it to the
chat, where both see the contract's events in the log.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Sourdough bakery signage"


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def expect_contract_events(page: Page) -> None:
    """The chat's log holds the proposal, its acceptance and the contract's start."""
    expect(page).to_have_url(re.compile(r"/conversations/[0-9a-f-]+/$"))
    log = page.get_by_role("log")
    expect(log.get_by_text("Pat Provider sent a proposal: 750.00 EUR, 10 days.")).to_be_visible()
    expect(log.get_by_text("Bea Buyer accepted the proposal.")).to_be_visible()
    expect(log.get_by_text(f"Contract started: {TITLE}, 750.00 EUR.")).to_be_visible()
    expect(log.get_by_text(re.compile(rf"^Milestone added: {TITLE}, 750\.00 EUR"))).to_be_visible()


def test_a_posted_project_becomes_a_contract_with_its_chat(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given: the buyer posts a project
    buyer = open_page()
    sign_in(buyer, "buyer")
    buyer.get_by_role("link", name="Projects", exact=True).click()
    buyer.get_by_role("link", name="Post a project").click()
    buyer.get_by_label("Title").fill(TITLE)
    buyer.get_by_label("Description").fill("Shop sign, window lettering and a menu board.")
    buyer.get_by_label("Category").select_option(label="Design & Creative")
    buyer.get_by_label("Logo design").check()
    buyer.get_by_label("Amount").fill("800")
    buyer.get_by_role("button", name="Post project").click()
    expect(buyer.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(buyer.get_by_role("status")).to_have_text("Your project is posted.")

    # when: the provider, on a phone, finds it among the recommendations and bids
    provider = open_page(phone=True)
    sign_in(provider, "provider")
    provider.get_by_role("link", name="Recommended", exact=True).click()
    provider.get_by_role("link", name=TITLE).click()
    expect(provider.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(
        provider.get_by_text(
            re.compile(r"^10 free bids left this month, renews on \d+ \w+ \d{4}\.$")
        )
    ).to_be_visible()
    provider.get_by_label("Cover letter").fill("I paint shop signs by hand.")
    provider.get_by_label("Amount").fill("750")
    provider.get_by_label("Duration (days)").fill("10")
    provider.get_by_role("button", name="Send proposal").click()
    expect(provider.get_by_role("status")).to_have_text(
        "Your proposal is sent. 9 free bids left this month."
    )

    # then: the buyer opens the project from the inbox and accepts the proposal
    buyer.goto("/")
    conversation = buyer.get_by_role("listitem").filter(has_text=TITLE)
    conversation.get_by_role("link", name="Project", exact=True).click()
    buyer.get_by_role("button", name="Accept the proposal of Pat Provider").click()
    expect(buyer).to_have_url(re.compile(r"/contracts/\d+/$"))
    expect(buyer.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(buyer.get_by_role("status")).to_contain_text("The contract has started.")
    buyer.get_by_role("link", name="Open the contract's chat").click()
    expect_contract_events(buyer)

    # and the provider reaches the same chat from the contract
    provider.get_by_role("link", name="Contracts", exact=True).click()
    provider.get_by_role("link", name=TITLE).click()
    expect(provider.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    provider.get_by_role("link", name="Open the contract's chat").click()
    expect_contract_events(provider)
    assert provider.url == buyer.url
