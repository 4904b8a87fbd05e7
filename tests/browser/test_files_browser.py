"""Files in a real browser: the provider attaches a PNG marked as a sample; the buyer sees the
watermarked preview and no download; once an invoice raised after it is paid, the buyer
downloads the original, and the provider sees "Downloaded by the buyer at …"."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from invoices.services import LineItem, escrow_fund, invoice_pay, invoice_raise
from projects.models import Contract
from tests.browser.conftest import Demo, outside_playwright
from tests.browser.test_money_browser import in_chat, sign_in
from tests.chatbox.files_helpers import png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contract(demo: Demo) -> Contract:
    """The demo contract, funded, with its provider verified so that they may invoice. Made
    before the browser starts: Playwright's loop forbids the ORM afterwards."""
    demo.provider_verified()
    contract = Contract.objects.get(engagement__conversation_id=demo.conversation_id)
    escrow_fund(
        buyer=contract.buyer,
        contract_id=contract.pk,
        amount=20000,
        currency=contract.currency,
        payment_method="pm_sandbox_ok",
    )
    return contract


def _invoice_raised_and_paid(contract: Contract) -> None:
    provider = User.objects.get(pk=contract.provider_id)
    invoice = invoice_raise(
        provider=provider,
        contract_id=contract.pk,
        currency=contract.currency,
        items=[LineItem("Final artwork", 10000)],
    )
    invoice_pay(buyer=User.objects.get(pk=contract.buyer_id), invoice_id=invoice.pk)


def test_a_sample_unlocks_when_paid_and_the_download_is_receipted(
    demo: Demo, contract: Contract, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    # given the provider and the buyer in the chat
    artwork = png(1200, 900)
    source = tmp_path / "sample.png"
    source.write_bytes(artwork)
    provider, buyer = open_page(), open_page()
    sign_in(provider, "provider")
    in_chat(provider, demo)
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)

    # when the provider attaches the PNG as a sample
    provider.get_by_label(
        "Send as a sample (the buyer sees a watermarked preview until paid)"
    ).check()
    provider.locator("[data-file-input]").set_input_files(str(source))
    expect(provider.get_by_text("Sent sample.png.")).to_be_visible()

    # then the buyer sees the watermarked preview, and no download
    log = buyer.get_by_role("log")
    preview = log.get_by_role("img", name="Watermarked preview of sample.png")
    expect(
        log.get_by_text("Preview — the original unlocks when the invoice is paid")
    ).to_be_visible()
    buyer.reload()
    in_chat(buyer, demo)
    expect(preview).to_be_visible()
    buyer.wait_for_function(
        "() => [...document.images].some((i) => i.alt.startsWith('Watermarked') && i.naturalWidth)"
    )
    assert (
        buyer.evaluate(
            "() => [...document.images].find((i) => i.alt.startsWith('Watermarked')).naturalWidth"
        )
        <= 480
    )
    expect(log.get_by_role("button", name="Download sample.png")).to_have_count(0)
    # and the provider, who sent it, may download it
    expect(
        provider.get_by_role("log").get_by_role("button", name="Download sample.png")
    ).to_be_visible()

    # when an invoice raised after the sample is paid, and the buyer downloads the original
    outside_playwright(lambda: _invoice_raised_and_paid(contract))
    buyer.reload()
    in_chat(buyer, demo)
    with buyer.expect_download() as downloading:
        log.get_by_role("button", name="Download sample.png").click()
    download = downloading.value

    # then the buyer has the original bytes, and the provider sees the receipt
    assert download.suggested_filename == "sample.png"
    assert Path(download.path()).read_bytes() == artwork
    expect(
        provider.get_by_role("log").get_by_text(re.compile(r"^Downloaded by the buyer at "))
    ).to_have_count(2)  # the receipt on the file, and the chain's system event
