"""People, end to end in a real browser: a new provider signs up (accepting the Terms),
verifies the e-mail by the link in the e-mail and the phone by the SMS code, fills the profile
with a skill and asks to be vetted; a support agent with TOTP signs in with a code and vets
the profile in the staff pages; the public profile shows the "Vetted" badge.

The live daphne writes e-mails to files (``EMAIL_URL=filemail://…``) and the console SMS
backend logs the code to its stderr, which ``LiveServer.output`` collects.
"""

from __future__ import annotations

import quopri
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from accounts.models import User
from projects.taxonomy import taxonomy_sync
from tests.browser.conftest import outside_playwright
from tests.factories import PASSWORD, UserFactory
from tests.live import LiveServer, running_daphne

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
PHONE = "+44 20 7946 0958"
WAIT_SECONDS = 15.0


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def daphne_server(transactional_db: None, mail_dir: Path) -> Iterator[LiveServer]:
    """The conftest's server, writing e-mails to ``mail_dir`` (the browser fixtures use it)."""
    yield from running_daphne(extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"})


@pytest.fixture
def support_agent(transactional_db: None) -> User:
    """Support staff with TOTP already set up; and the taxonomy the profile editor offers."""
    taxonomy_sync()
    agent = UserFactory(username="vera", display_name="Vera Support", is_support=True)
    TOTP.activate(agent, TOTP_SECRET)
    return agent


def _wait_for(find: Callable[[], str | None], what: str) -> str:
    """Poll for something the server writes (a file, a log line); fail with ``what``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come within {WAIT_SECONDS}s")


def _confirmation_link(mail_dir: Path) -> str:
    def find() -> str | None:
        files = sorted(mail_dir.glob("*.log"), key=lambda path: path.stat().st_mtime)
        if not files:
            return None
        text = quopri.decodestring(files[-1].read_bytes()).decode(errors="replace")
        found = re.search(r"https?://[^\s/]+(/account/confirm-email/[^\s]+/)", text)
        return found.group(1) if found else None

    return _wait_for(find, "the verification e-mail")


def _sms_code(server: LiveServer, number: str) -> str:
    def find() -> str | None:
        for line in reversed(server.output):
            if f"SMS to {number}:" in line and (found := re.search(r"\b(\d{6})\b", line)):
                return found.group(1)
        return None

    return _wait_for(find, "the SMS with the code")


def _totp_now() -> str:
    """The current code; near the end of its 30-second period, the next period's, so that the
    code is still current when the form is submitted (allauth accepts no drift by default)."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 3:
        time.sleep(left)
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // mfa_settings.TOTP_PERIOD))


def test_a_new_provider_is_verified_and_vetted(
    support_agent: User,
    daphne_server: LiveServer,
    mail_dir: Path,
    open_page: Callable[..., Page],
) -> None:
    # given: a visitor signs up as a provider, accepting the Terms
    page = open_page()
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Email").fill("nadia@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Display name").fill("Nadia Newprovider")
    page.get_by_label("I want to work (provider)").check()
    page.get_by_label("I accept the Terms of Service").check()
    page.get_by_role("button", name="Sign Up").click()

    # when: she follows the link in the e-mail and confirms
    page.goto(_confirmation_link(mail_dir))
    page.get_by_role("button", name="Confirm").click()
    # then: with the address verified, she signs in
    page.goto("/")
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # when: she verifies her phone with the code from the SMS
    page.goto("/account/phone/")
    page.get_by_label("Phone number").fill(PHONE)
    page.get_by_role("button", name="Send code").click()
    page.get_by_label("Code").fill(_sms_code(daphne_server, "+442079460958"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Your phone number is verified.")).to_be_visible()

    # when: she fills her profile with a skill, and asks to be vetted
    page.get_by_role("link", name="My profile").click()
    page.get_by_label("Headline").fill("Logos for bakeries")
    page.get_by_label("Logo design").check()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    page.get_by_role("button", name="Ask to be vetted").click()
    expect(page.get_by_text("Support staff are reviewing your profile")).to_be_visible()

    # when: the support agent signs in with a TOTP code and vets her in the vetting queue
    staff = open_page()
    staff.goto("/")
    staff.get_by_label("Username").fill("vera")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.get_by_label("Code").fill(_totp_now())
    staff.get_by_role("button", name="Sign In").click()
    expect(staff.get_by_role("button", name="Sign out")).to_be_visible()
    staff.get_by_role("link", name="Support").click()
    staff.get_by_role("link", name="Vetting queue").click()
    entry = staff.get_by_role("article", name="Nadia Newprovider")
    entry.get_by_role("button", name="Vet").click()
    expect(staff.get_by_role("status")).to_have_text("Nadia Newprovider is vetted.")
    expect(staff.get_by_text("No provider waits for vetting.")).to_be_visible()

    # then: her public profile shows the badges, and her editor the outcome
    visitor = open_page()
    visitor.goto("/profiles/nadia/")
    badges = visitor.get_by_role("list", name="Verification")
    expect(badges.get_by_role("listitem")).to_have_text(
        ["E-mail verified", "Phone verified", "Vetted"]
    )
    page.goto("/profile/edit/")
    expect(page.get_by_text("Your profile is vetted since")).to_be_visible()

    def badges_of_nadia() -> tuple[bool, bool, bool]:
        nadia = User.objects.get(username="nadia")
        return (nadia.email_verified, nadia.phone_verified, nadia.is_vetted)

    assert outside_playwright(badges_of_nadia) == (True, True, True)
