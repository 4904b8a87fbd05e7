"""A dispute in real browsers, as issue 6 tells it: the buyer opens a dispute on an invoice from
its card; the provider proposes a settlement in the chat; the buyer escalates to mediation
(the support mediator joins), then to arbitration; the arbitrator decides from the case file;
both parties see the decision, and the ledger executed exactly that split."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import Page, expect

from accounts.models import User
from invoices.models import Entry
from invoices.services import LineItem, escrow_fund, invoice_raise
from projects.models import Contract
from tests.browser.conftest import Demo, outside_playwright
from tests.browser.test_money_browser import card, in_chat, invoice_card, sign_in
from tests.browser.test_report_case_warning import TOTP_SECRET, sign_in_with_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPENED = re.compile(r"^Dispute \d+ opened$")


@pytest.fixture
def invoiced(demo: Demo) -> Demo:
    """Before the browser starts: 500.00 EUR in escrow, an invoice of all of it, and support
    with TOTP (so that it can mediate and decide)."""
    demo.provider_verified()
    provider = User.objects.get(pk=demo.users["provider"])
    TOTP.activate(User.objects.get(pk=demo.users["support"]), TOTP_SECRET)
    contract = Contract.objects.get(engagement__conversation_id=demo.conversation_id)
    escrow_fund(
        buyer=contract.buyer,
        contract_id=contract.pk,
        amount=50000,
        currency=contract.currency,
        payment_method="pm_sandbox_ok",
    )
    invoice_raise(
        provider=provider,
        contract_id=contract.pk,
        currency=contract.currency,
        items=[LineItem("Logo, final files", 50000)],
    )
    return demo


def test_a_dispute_from_invoice_to_arbitration(
    invoiced: Demo, open_page: Callable[..., Page]
) -> None:
    demo = invoiced
    buyer, provider = open_page(), open_page(phone=True)
    for page, name in ((buyer, "buyer"), (provider, "provider")):
        sign_in(page, name)
        in_chat(page, demo)

    # when the buyer disputes the invoice from its card
    invoice = invoice_card(buyer, "Logo, final files")
    invoice.get_by_role("button", name="Dispute").click()
    invoice.get_by_label("What is wrong").fill("The files are not the ones agreed.")
    expect(invoice.get_by_label("Disputed amount (EUR)")).to_have_value("500.00")
    invoice.get_by_role("button", name="Open dispute").click()

    # then both see the dispute, and the invoice is frozen
    for page in (buyer, provider):
        expect(page.get_by_role("log").get_by_role("article", name=OPENED)).to_have_count(1)
    expect(invoice.get_by_role("button", name="Pay")).to_have_count(0)

    # when the provider proposes 200.00 back and 300.00 released
    opened = provider.get_by_role("log").get_by_role("article", name=OPENED)
    opened.get_by_role("button", name="Propose a settlement").click()
    opened.get_by_label("Back to the buyer (EUR)").fill("200.00")
    opened.get_by_label("To the provider (EUR)").fill("300.00")
    opened.get_by_role("button", name="Send proposal").click()
    expect(card(buyer, "The provider proposes a settlement")).to_have_count(1)

    # when the buyer escalates, twice: to mediation, then to arbitration
    opened = buyer.get_by_role("log").get_by_role("article", name=OPENED)
    for stage in ("Mediation", "Arbitration"):
        opened.get_by_role("button", name="Escalate").click()
        opened.locator("form").get_by_role("button", name="Escalate").click()
        stage_card = buyer.get_by_role("log").get_by_role(
            "article", name=re.compile(rf"^Dispute \d+: {stage}$")
        )
        expect(stage_card).to_have_count(1)
    expect(provider.get_by_role("log")).to_contain_text("joins")

    # when the arbitrator decides from the case file: 250.00 each way
    staff = open_page()
    sign_in_with_totp(staff, "support")
    staff.goto("/staff/cases/")
    queue = staff.get_by_role("table", name="Open cases")
    queue.get_by_role("row").filter(has_text="500.00").get_by_role("link").click()
    staff.get_by_label("Reason for reading").fill("Arbitration of the dispute")
    staff.get_by_role("button", name="Read the conversation").click()
    staff.get_by_label("Refund to the buyer (EUR)").fill("250.00")
    staff.get_by_label("Release to the provider (EUR)").fill("250.00")
    staff.get_by_label("Reasons for the decision").fill("Half the files were delivered.")
    staff.get_by_role("button", name="Decide the dispute").click()
    expect(staff.get_by_text("The decision is made and executed")).to_be_visible()

    # then both parties see the decision in the chat
    for page in (buyer, provider):
        expect(card(page, "Dispute decided in arbitration")).to_have_count(1)

    # and the ledger executed exactly that split, less the platform's fee on the release
    def settlement() -> list[tuple[str, int]]:
        entries = Entry.objects.filter(transaction__kind="settlement")
        return sorted(entries.values_list("account__kind", "amount"))

    assert outside_playwright(settlement) == [
        ("escrow", -50000),
        ("fees", 2500),
        ("provider", 22500),
        ("refunds_out", 25000),
    ]
