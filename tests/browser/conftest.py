"""Fixtures for the browser tests: demo data, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page, sync_playwright

from accounts.models import User
from chatbox.models import Conversation
from tests.live import LiveServer
from tests.services import require_chromium

T = TypeVar("T")

PASSWORD = "pw"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 667},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


@dataclass(frozen=True)
class Demo:
    users: dict[str, int]
    conversation_id: str
    conversation_title: str

    def provider_verified(self) -> None:
        """Verify the demo provider's e-mail address and phone, so that they may invoice. Call
        it before the browser starts: Playwright's loop forbids the ORM afterwards."""
        provider = User.objects.get(pk=self.users["provider"])
        EmailAddress.objects.update_or_create(
            user=provider,
            email=provider.email or "provider@example.com",
            defaults={"verified": True, "primary": True},
        )
        provider.phone_number, provider.phone_verified_at = "+33612345678", timezone.now()
        provider.save()


def outside_playwright(work: Callable[[], T]) -> T:
    """Run ORM work while Playwright's sync API is active.

    Playwright keeps an asyncio loop running on the test's thread, and Django refuses
    synchronous database calls there; another thread has no loop.
    """

    def in_thread() -> T:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result()


@pytest.fixture
def demo(daphne_server: LiveServer) -> Demo:
    """The demo data of PROTOCOL.md §1: buyer, provider, support, outsider, one conversation."""
    out = io.StringIO()
    call_command("seed_demo", password=PASSWORD, json=True, stdout=out)
    seeded = json.loads(out.getvalue())
    conversation = Conversation.objects.get(pk=seeded["conversation"]["id"])
    return Demo(
        users={name: user["id"] for name, user in seeded["users"].items()},
        conversation_id=str(conversation.pk),
        conversation_title=conversation.title,
    )


@pytest.fixture
def chromium_executable() -> str:
    """Skips (or fails, with REQUIRE_SERVICES=1) before any server starts when it is missing."""
    return require_chromium()


@pytest.fixture
def browser(chromium_executable: str, daphne_server: LiveServer, demo: Demo) -> Iterator[Browser]:
    # After the live server and the data: Django's database teardown must run once
    # Playwright's event loop has stopped again.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Browser, daphne_server: LiveServer) -> Callable[..., Page]:
    """A new page in its own browser context (its own cookies), desktop or phone-sized."""

    def open_page(*, phone: bool = False) -> Page:
        context = browser.new_context(base_url=daphne_server.url, **(PHONE if phone else DESKTOP))
        context.set_default_timeout(15_000)
        return context.new_page()

    return open_page
