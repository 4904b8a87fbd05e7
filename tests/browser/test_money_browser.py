"""Money in a real browser, from funding to refund: the demo buyer funds the contract's first
milestone on the contract page; the demo provider (verified), on a phone, raises an invoice
from the chat's composer; both see the invoice card; the buyer pays it from the card and both
see it turn paid and the payment card; the provider's statement shows the amount less the
platform's 10 % fee; the provider refunds part of it from the card and both see the refund;
a second invoice, declined by the buyer, shows as declined to both.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from projects.models import Contract
from tests.browser.conftest import PASSWORD, Demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contract_id(demo: Demo) -> int:
    """The demo contract, with its provider verified (e-mail and phone) so that they may
    invoice. Made before the browser starts: Playwright's loop forbids the ORM afterwards."""
    demo.provider_verified()
    return Contract.objects.get(engagement__conversation_id=demo.conversation_id).pk


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def in_chat(page: Page, demo: Demo) -> None:
    page.goto(f"/conversations/{demo.conversation_id}/")
    page.wait_for_function("() => window.chatboxSocket?.state === 'open'")


def invoice_card(page: Page, line: str) -> Locator:
    """The invoice card (an article of the log named "Invoice N") holding the line ``line``."""
    cards = page.get_by_role("log").get_by_role("article", name=re.compile(r"^Invoice \d+$"))
    return cards.filter(has=page.get_by_role("cell", name=line, exact=True))


def card(page: Page, name: str) -> Locator:
    return page.get_by_role("log").get_by_role("article", name=name, exact=True)


def raise_invoice(page: Page, lines: list[tuple[str, str]], milestone: str, note: str) -> None:
    page.get_by_role("button", name="Raise invoice").click()
    dialog = page.get_by_role("dialog", name="Raise an invoice")
    for number, (description, amount) in enumerate(lines, start=1):
        if number > 1:
            dialog.get_by_role("button", name="Add line").click()
        dialog.get_by_label(f"Description of line {number}").fill(description)
        dialog.get_by_label(f"Amount (EUR) of line {number}").fill(amount)
    dialog.get_by_label("Milestone").select_option(label=milestone)
    dialog.get_by_label("Note (optional)").fill(note)
    dialog.get_by_role("button", name="Send invoice").click()
    expect(dialog).to_be_hidden()


def test_money_from_funding_to_refund(
    contract_id: int, demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given: the buyer funds the first milestone on the contract page
    buyer = open_page()
    sign_in(buyer, "buyer")
    buyer.goto(f"/contracts/{contract_id}/")
    money = buyer.get_by_role("region", name="Money")
    money.get_by_label("Amount to fund (EUR)").fill("500")
    money.get_by_label("Payment method").select_option("pm_sandbox_ok")
    money.get_by_role("button", name="Fund escrow").click()
    expect(buyer.get_by_role("status")).to_have_text(
        "Escrow funded: 500.00 EUR. It now holds 500.00 EUR."
    )
    expect(money.get_by_role("definition").first).to_have_text("500.00 EUR")  # In escrow
    buyer.get_by_role("link", name="Open the contract's chat").click()
    buyer.wait_for_function("() => window.chatboxSocket?.state === 'open'")
    expect(card(buyer, "Escrow funded")).to_contain_text("Escrow now holds500.00 EUR")

    # when: the provider, on a phone, raises an invoice from the chat's composer
    provider = open_page(phone=True)
    sign_in(provider, "provider")
    in_chat(provider, demo)
    provider.get_by_role("button", name="Raise invoice").click()
    dialog = provider.get_by_role("dialog", name="Raise an invoice")
    dialog.get_by_role("button", name="Send invoice").click()  # nothing typed yet
    expect(dialog.get_by_label("Description of line 1")).to_have_accessible_description(
        "Describe this line."
    )
    expect(dialog.get_by_label("Amount (EUR) of line 1")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_role("button", name="Close").click()
    raise_invoice(
        provider,
        [("Three logo concepts", "400"), ("Colour palette", "100.00")],
        milestone="Logo concepts (500.00 EUR)",
        note="Thank you for the brief!",
    )

    # then: both see the invoice card, issued
    for page in (buyer, provider):
        issued = invoice_card(page, "Three logo concepts")
        expect(issued).to_contain_text("State: Issued")
        expect(issued).to_contain_text("Milestone: Logo concepts")
        expect(issued).to_contain_text("Total500.00 EUR")
        expect(issued).to_contain_text("Note: Thank you for the brief!")
    invoice = invoice_card(buyer, "Three logo concepts").get_attribute("data-invoice-card")
    expect(invoice_card(provider, "Three logo concepts").get_by_role("button")).to_have_text(
        ["Cancel", "Dispute"]
    )

    # when: the buyer pays it from the card (escrow holds enough: no card needed)
    to_pay = invoice_card(buyer, "Three logo concepts")
    expect(to_pay.get_by_role("button")).to_have_text(["Pay", "Decline", "Dispute"])
    to_pay.get_by_role("button", name="Pay").click()
    expect(to_pay.get_by_text(re.compile(r"^500\.00 EUR is released from escrow"))).to_be_visible()
    expect(to_pay.get_by_label("Payment method")).to_be_hidden()
    to_pay.get_by_role("button", name="Confirm payment").click()

    # then: the card turns paid for both, and both see the payment card
    for page in (buyer, provider):
        expect(invoice_card(page, "Three logo concepts")).to_contain_text("State: Paid")
        paid = card(page, f"Invoice {invoice} paid")
        expect(paid).to_contain_text("Total500.00 EUR")
        expect(paid).to_contain_text("Platform fee50.00 EUR")
        expect(paid).to_contain_text("Released to the provider450.00 EUR")
    expect(invoice_card(buyer, "Three logo concepts").get_by_role("button")).to_have_count(0)

    # and the provider's statement shows the amount less the 10 % fee
    statement = provider.context.new_page()
    statement.goto("/")
    statement.get_by_role("link", name="Money", exact=True).click()
    expect(statement.get_by_role("heading", name="Balance and statement")).to_be_visible()
    balance = statement.get_by_role("region", name="Balance")
    expect(balance.get_by_role("definition")).to_have_text("450.00 EUR")
    movements = statement.get_by_role("table", name="Movements of your balance, newest first")
    expect(movements.get_by_role("row").nth(1)).to_contain_text(
        f"Payment released, invoice {invoice}"
    )
    expect(movements.get_by_role("row").nth(1)).to_contain_text("+450.00 EUR")

    # when: the provider refunds part of it from the card
    to_refund = invoice_card(provider, "Three logo concepts")
    to_refund.get_by_role("button", name="Refund").click()
    expect(to_refund.get_by_text("At most 500.00 EUR is left to refund.")).to_be_visible()
    to_refund.get_by_label("Refund amount (EUR)").fill("100")
    to_refund.get_by_role("button", name="Send refund").click()

    # then: both see the refund card, and the invoice card counts it
    for page in (buyer, provider):
        refund = card(page, f"Refund on invoice {invoice}")
        expect(refund).to_contain_text("Refunded100.00 EUR")
        expect(invoice_card(page, "Three logo concepts")).to_contain_text(
            "State: Paid 100.00 EUR refunded"
        )
    statement.reload()
    expect(balance.get_by_role("definition")).to_have_text("360.00 EUR")

    # when: the provider invoices the second milestone and the buyer declines it
    raise_invoice(
        provider,
        [("Brand kit", "700")],
        milestone="Brand kit (700.00 EUR)",
        note="",
    )
    to_decline = invoice_card(buyer, "Brand kit")
    to_decline.get_by_role("button", name="Decline").click()
    to_decline.get_by_label("Reason for declining").fill("We agreed on 600.")
    to_decline.get_by_role("button", name="Decline invoice").click()

    # then: both see it declined, with the buyer's reason
    declined = invoice_card(buyer, "Brand kit").get_attribute("data-invoice-card")
    for page in (buyer, provider):
        expect(invoice_card(page, "Brand kit")).to_contain_text("State: Declined")
        expect(invoice_card(page, "Brand kit").get_by_role("button")).to_have_count(0)
        expect(card(page, f"Invoice {declined} declined")).to_contain_text(
            f"Invoice {declined} declined: We agreed on 600."
        )
