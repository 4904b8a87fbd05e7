"""Files in a real browser, uploaded to the live server:

- the provider attaches a PNG marked as a sample; the buyer sees the watermarked preview and no
  download; once an invoice raised after it is paid, the buyer downloads the original, and the
  provider sees "Downloaded by the buyer at …";
- a sample the buyer is looking at turns downloadable when the buyer pays such an invoice, with
  no reload;
- a file dropped on the timeline and an image pasted into the composer are sent, and the other
  party sees them live;
- the upload progress bar shows, climbs to 100 and hides again.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from invoices.services import LineItem, escrow_fund, invoice_pay, invoice_raise
from projects.models import Contract
from tests.browser.conftest import Demo, outside_playwright
from tests.browser.test_money_browser import in_chat, invoice_card, raise_invoice, sign_in
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


SENDER_NOTE = (
    "Sample: the buyer sees a watermarked preview until an invoice raised after it is paid."
)


def mark_document(page: Page) -> None:
    """Leave a mark in the page's window: it is still there only if the page was not reloaded."""
    page.evaluate("() => { window.notReloaded = true; }")


def still_same_document(page: Page) -> bool:
    return bool(page.evaluate("() => window.notReloaded === true"))


def test_a_sample_turns_downloadable_when_the_buyer_pays_without_a_reload(
    demo: Demo, contract: Contract, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    # given the provider has sent a sample, and the buyer's chat shows it locked
    artwork = png(900, 600)
    source = tmp_path / "sample.png"
    source.write_bytes(artwork)
    provider, buyer = open_page(), open_page()
    sign_in(provider, "provider")
    in_chat(provider, demo)
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    provider.get_by_label(
        "Send as a sample (the buyer sees a watermarked preview until paid)"
    ).check()
    provider.locator("[data-file-input]").set_input_files(str(source))
    log = buyer.get_by_role("log")
    locked_note = log.get_by_text("Preview — the original unlocks when the invoice is paid")
    expect(locked_note).to_be_visible()
    expect(log.get_by_role("button", name="Download sample.png")).to_have_count(0)
    sender_note = provider.get_by_role("log").get_by_text(SENDER_NOTE)
    expect(sender_note).to_be_visible()
    mark_document(buyer)
    mark_document(provider)

    # when the provider invoices after the sample, and the buyer pays from the invoice card
    raise_invoice(provider, [("Final artwork", "100")], milestone="No milestone", note="")
    to_pay = invoice_card(buyer, "Final artwork")
    to_pay.get_by_role("button", name="Pay").click()
    to_pay.get_by_role("button", name="Confirm payment").click()

    # then the buyer's card turns into a download of the original, in the same page
    download_button = log.get_by_role("button", name="Download sample.png")
    expect(download_button).to_be_visible()
    expect(locked_note).to_have_count(0)
    expect(log.get_by_role("img", name="Preview of sample.png")).to_be_visible()
    assert still_same_document(buyer)
    with buyer.expect_download() as downloading:
        download_button.click()
    assert Path(downloading.value.path()).read_bytes() == artwork
    # and the provider's "until paid" note goes, in the same page too
    expect(sender_note).to_have_count(0)
    assert still_same_document(provider)


RECORD_BUSY = """(seq) => {
    const article = document.querySelector(`[role=log] [data-seq="${seq}"]`);
    window.busySeen = [];
    new MutationObserver(() => window.busySeen.push(article.getAttribute("aria-busy")))
        .observe(article, { attributes: true, attributeFilter: ["aria-busy"] });
}"""


def test_paying_an_invoice_raised_before_the_sample_leaves_it_locked(
    demo: Demo, contract: Contract, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    # given an invoice raised first, then a sample, which the buyer's chat shows locked
    source = tmp_path / "sample.png"
    source.write_bytes(png(900, 600))
    provider, buyer = open_page(), open_page()
    sign_in(provider, "provider")
    in_chat(provider, demo)
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    raise_invoice(provider, [("Early artwork", "100")], milestone="No milestone", note="")
    provider.get_by_label(
        "Send as a sample (the buyer sees a watermarked preview until paid)"
    ).check()
    provider.locator("[data-file-input]").set_input_files(str(source))
    log = buyer.get_by_role("log")
    locked_note = log.get_by_text("Preview — the original unlocks when the invoice is paid")
    expect(locked_note).to_be_visible()
    sample_seq = log.locator("[data-kind=file]").get_attribute("data-seq")
    buyer.evaluate(RECORD_BUSY, sample_seq)

    # when the buyer pays that earlier invoice
    to_pay = invoice_card(buyer, "Early artwork")
    to_pay.get_by_role("button", name="Pay").click()
    to_pay.get_by_role("button", name="Confirm payment").click()

    # then the buyer's page asked the server again about the sample (busy, then done) ...
    buyer.wait_for_function(
        "() => window.busySeen.includes('true') && window.busySeen.at(-1) === null"
    )
    # ... and it stays locked: the payment does not cover a sample sent after its invoice
    expect(locked_note).to_be_visible()
    expect(log.get_by_role("button", name="Download sample.png")).to_have_count(0)
    expect(provider.get_by_role("log").get_by_text(SENDER_NOTE)).to_be_visible()


DROP_ON_TIMELINE = """([name, text]) => {
    const zone = document.querySelector("[data-timeline]");
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type: "text/plain" }));
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    // A browser fires "drop" only where "dragover" was cancelled.
    const accepted = !zone.dispatchEvent(new DragEvent("dragover", init));
    const highlighted = zone.classList.contains("timeline--drop");
    const taken = !zone.dispatchEvent(new DragEvent("drop", init));
    return { accepted, highlighted, taken, cleared: !zone.classList.contains("timeline--drop") };
}"""


def test_a_file_dropped_on_the_timeline_is_sent_and_seen_live(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given the buyer and the provider in the chat
    buyer, provider = open_page(), open_page()
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    sign_in(provider, "provider")
    in_chat(provider, demo)
    mark_document(provider)
    notes = "Brief for the logo: bold, round, two colours.\n"

    # when the buyer drops a text file on the timeline
    dropped = buyer.evaluate(DROP_ON_TIMELINE, ["brief.txt", notes])

    # then the timeline took the drop, and both see the file message
    assert dropped == {"accepted": True, "highlighted": True, "taken": True, "cleared": True}
    expect(buyer.get_by_text("Sent brief.txt.")).to_be_visible()
    for page in (buyer, provider):
        expect(
            page.get_by_role("log").get_by_role("button", name="Download brief.txt")
        ).to_be_visible()
    # the provider saw it arrive live, and it holds the bytes that were dropped
    assert still_same_document(provider)
    with provider.expect_download() as downloading:
        provider.get_by_role("log").get_by_role("button", name="Download brief.txt").click()
    assert Path(downloading.value.path()).read_text() == notes


PASTE_INTO_COMPOSER = """(composer, [name, encoded]) => {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    const clipboard = new DataTransfer();
    clipboard.items.add(new File([bytes], name, { type: "image/png" }));
    const paste = new ClipboardEvent("paste", {
        clipboardData: clipboard, bubbles: true, cancelable: true,
    });
    return !composer.dispatchEvent(paste);  // true when the page took the paste
}"""


def test_an_image_pasted_into_the_composer_is_sent(
    demo: Demo, open_page: Callable[..., Page]
) -> None:
    # given the provider and the buyer in the chat
    provider, buyer = open_page(), open_page()
    sign_in(provider, "provider")
    in_chat(provider, demo)
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    composer = provider.get_by_label("Message")
    image = png(640, 480)

    # when the provider pastes an image into the composer
    taken = composer.evaluate(PASTE_INTO_COMPOSER, ["image.png", base64.b64encode(image).decode()])

    # then it is sent as a file, not typed, and both see it
    assert taken is True
    expect(provider.get_by_text("Sent image.png.")).to_be_visible()
    expect(composer).to_have_value("")
    for page in (provider, buyer):
        expect(
            page.get_by_role("log").get_by_role("button", name="Download image.png")
        ).to_be_visible()
    # and the buyer gets the very image that was pasted
    with buyer.expect_download() as downloading:
        buyer.get_by_role("log").get_by_role("button", name="Download image.png").click()
    assert Path(downloading.value.path()).read_bytes() == image


RECORD_PROGRESS = """() => {
    const bar = document.querySelector("[data-file-progress]");
    window.progressSeen = [];
    new MutationObserver(() => {
        window.progressSeen.push({ hidden: bar.hidden, value: bar.value });
    }).observe(bar, { attributes: true, attributeFilter: ["hidden", "value"] });
}"""


def test_the_progress_bar_climbs_to_100_and_hides_when_sent(
    demo: Demo, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    # given the buyer in the chat, a 4 MB text file, and a recorder on the progress bar
    brief = tmp_path / "long-brief.txt"
    brief.write_text("The logo should read well at 16 px and on a truck.\n" * 80_000)
    buyer = open_page()
    sign_in(buyer, "buyer")
    in_chat(buyer, demo)
    progress = buyer.get_by_role("progressbar", name="Upload progress")
    expect(progress).to_be_hidden()
    buyer.evaluate(RECORD_PROGRESS)
    # On the loopback the whole body leaves in one go: Chromium's own network throttling
    # (2 MB/s up) spreads the real upload over a couple of seconds, so the bar can move.
    network = buyer.context.new_cdp_session(buyer)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2_000_000},
    )

    # when the buyer attaches it with the "Attach file" button
    with buyer.expect_file_chooser() as choosing:
        buyer.get_by_role("button", name="Attach file").click()
    choosing.value.set_files(str(brief))

    # then the bar showed from 0, climbed to 100, and hid when the file was sent
    expect(buyer.get_by_text("Sent long-brief.txt.")).to_be_visible()
    expect(
        buyer.get_by_role("log").get_by_role("button", name="Download long-brief.txt")
    ).to_be_visible()
    expect(progress).to_be_hidden()
    seen: list[dict[str, Any]] = buyer.evaluate("() => window.progressSeen")
    shown = [state["value"] for state in seen if not state["hidden"]]
    assert seen[0] == {"hidden": False, "value": 0}
    assert shown == sorted(shown), shown
    assert shown[-1] == 100
    assert any(0 < value < 100 for value in shown), shown
    assert seen[-1] == {"hidden": True, "value": 100}
