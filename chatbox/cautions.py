"""Cautions for providers on messages that look like the usual scams, each with its reason
(docs/trust-and-safety.md). A buyer's message that asks for free samples, trials or unpaid test
work; and a message of a new, unverified buyer that pushes to talk or pay outside the platform.
``projects.cautions`` applies the same tests to listings.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from chatbox import contacts

NEW_ACCOUNT_DAYS = 7

FREE_WORK = re.compile(
    r"\b(?:free\s+(?:sample|trial|test|mock-?up|draft)s?|unpaid\s+(?:test|trial|sample|task)s?|"
    r"test\s+task\s+(?:for\s+free|unpaid|without\s+pay)|work\s+for\s+free|for\s+free\s+first)\b",
    re.IGNORECASE,
)
ELSEWHERE = re.compile(
    r"\b(?:contact|message|text|reach|add|call)\s+me\s+(?:on|via|outside)\b|"
    r"\b(?:off|outside)\s+(?:of\s+)?(?:the\s+)?(?:platform|site)\b",
    re.IGNORECASE,
)
OFF_PLATFORM_KINDS = frozenset(
    {contacts.Kind.PHONE, contacts.Kind.EMAIL, contacts.Kind.HANDLE, contacts.Kind.PAYMENT}
)

FREE_WORK_ASKED = "It asks for free samples, trials or unpaid test work."
NEW_BUYER_OFF_PLATFORM = (
    "A new, unverified buyer asks to talk or pay outside Chatbox. "
    "Keep the conversation and payment here: only then are you protected."
)


def is_new_and_unverified(user: User) -> bool:
    new = user.date_joined >= timezone.now() - timedelta(days=NEW_ACCOUNT_DAYS)
    return new and not user.phone_verified and user.id_verified_at is None


def asks_for_free_work(text: str) -> bool:
    return FREE_WORK.search(text) is not None


def pushes_off_platform(text: str, spans: list[contacts.Span] | None = None) -> bool:
    if ELSEWHERE.search(text):
        return True
    found = contacts.scan(text) if spans is None else spans
    return any(span.kind in OFF_PLATFORM_KINDS for span in found)


def buyer_cautions(text: str, buyer: User, spans: list[contacts.Span] | None = None) -> list[str]:
    """The cautions a provider sees on a buyer's text (a message, or a listing)."""
    cautions = []
    if asks_for_free_work(text):
        cautions.append(FREE_WORK_ASKED)
    if is_new_and_unverified(buyer) and pushes_off_platform(text, spans):
        cautions.append(NEW_BUYER_OFF_PLATFORM)
    return cautions
