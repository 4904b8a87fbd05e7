"""Trust and safety end to end in Chromium: the buyer reports the provider's message from the
conversation page; a support agent with TOTP finds the case at the top of the queue, gives a
reason, reads the conversation (an audited read) and warns the provider from the case file;
the provider, in another browser context, sees the warning with its reason on the next page.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from accounts.models import User
from chatbox.services import message_send
from reports.models import Case, EvidenceAccess
from tests.browser.conftest import PASSWORD, Demo, outside_playwright

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
OFF_PLATFORM = "Let's move to WhatsApp, it is cheaper: +44 20 7946 0958"
WARNING = "Sharing a phone number to take the work off the platform."


@pytest.fixture
def reported_later(demo: Demo) -> Demo:
    """Before the browser starts: support has TOTP, and the provider wrote to the buyer."""
    TOTP.activate(User.objects.get(pk=demo.users["support"]), TOTP_SECRET)
    message_send(
        conversation_id=demo.conversation_id,
        sender=User.objects.get(pk=demo.users["provider"]),
        client_id=uuid.uuid4(),
        body=OFF_PLATFORM,
    )
    return demo


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def totp_code() -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(TOTP_SECRET, counter))


def sign_in_with_totp(page: Page, username: str) -> None:
    """Password, then the TOTP code. allauth takes only the current period's code: when the
    period turns between computing and checking it, the form says so and the next code goes."""
    sign_in(page, username)
    page.get_by_label("Code").fill(totp_code())
    page.get_by_role("button", name="Sign In").click()
    signed_in = page.get_by_role("button", name="Sign out")
    expect(signed_in.or_(page.get_by_text("Incorrect code."))).to_be_visible()
    if not signed_in.is_visible():
        page.get_by_label("Code").fill(totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(signed_in).to_be_visible()


def test_a_reported_message_leads_to_a_warning_the_provider_sees(
    reported_later: Demo, open_page: Callable[..., Page]
) -> None:
    demo = reported_later
    # given: the buyer in the conversation, where the provider's message is
    buyer = open_page()
    sign_in(buyer, "buyer")
    buyer.get_by_role("link", name=re.compile(re.escape(demo.conversation_title))).click()
    message = buyer.get_by_role("log").locator("[data-seq]", has_text="WhatsApp")
    expect(message).to_have_count(1)

    # when: the buyer reports it, for contact details
    message.get_by_role("button", name="Report").click()
    dialog = buyer.get_by_role("dialog", name="Report this message from Pat Provider")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").select_option(label="Shares contact details")
    dialog.get_by_label("Note").fill("Asks me to pay on WhatsApp.")
    dialog.get_by_role("button", name="Send report").click()

    # then
    expect(dialog.get_by_role("status")).to_have_text("Thanks — support will look at it.")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # when: the support agent signs in with TOTP and opens the queue
    staff = open_page()
    sign_in_with_totp(staff, "support")
    staff.get_by_role("link", name="Support").click()
    staff.get_by_role("link", name="Cases", exact=True).click()

    # then: the case is at the top of the queue
    queue = staff.get_by_role("table", name="Open cases")
    top = queue.get_by_role("row").nth(1)
    expect(top).to_contain_text("Shares contact details")
    expect(top).to_contain_text("Pat Provider")
    expect(top).to_contain_text(f"“{demo.conversation_title}”")

    # when: the agent opens the case, and says why before reading
    top.get_by_role("link").click()
    expect(
        staff.get_by_role("heading", name="Why are you reading this conversation?")
    ).to_be_visible()
    expect(staff.get_by_text(OFF_PLATFORM)).to_have_count(0)
    staff.get_by_label("Reason for reading").fill("Report of contact details")
    staff.get_by_role("button", name="Read the conversation").click()

    # then: the message is shown as it was sent, and the read is in the audit log
    record = staff.get_by_role("table", name="The conversation's record, event by event")
    expect(record.get_by_role("row").filter(has_text="Reported message")).to_contain_text(
        OFF_PLATFORM
    )
    expect(staff.get_by_text("Asks me to pay on WhatsApp.")).to_be_visible()

    def reads() -> list[tuple[str, str, str]]:
        case = Case.objects.get(kind="report")
        return [
            (read.object_id, read.why, str(read.case_id == case.pk))
            for read in EvidenceAccess.objects.filter(staff__username="support")
        ]

    assert outside_playwright(reads) == [
        (demo.conversation_id, "Report of contact details", "True")
    ]

    # when: the agent warns the provider from the case file
    staff.get_by_label("Action", exact=True).select_option(label="Warning")
    expect(staff.get_by_label("Suspended until")).to_be_hidden()
    staff.get_by_label("Reason", exact=True).fill(WARNING)
    staff.get_by_role("button", name="Apply action").click()

    # then
    expect(staff.get_by_role("status")).to_have_text("Pat Provider is warned.")

    # when: the provider, in another browser context, loads a page
    provider = open_page(phone=True)
    sign_in(provider, "provider")

    # then: the warning is shown, with its reason and the way to appeal
    banner = provider.get_by_role("alert").filter(has_text="Warning from support")
    expect(banner).to_contain_text(WARNING)
    banner.get_by_role("link", name="Your account standing and appeals").click()
    expect(provider.get_by_role("heading", name=re.compile(r"^Warning of "))).to_be_visible()
    expect(provider.get_by_label("Why should this be lifted?")).to_be_visible()
