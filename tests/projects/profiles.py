"""Helpers for the profile tests: a valid full-replace payload and a provider who saved one."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from projects.models import ProviderProfile
from projects.services import HourlyRate, PortfolioEntry, profile_update
from tests.factories import UserFactory


def profile_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "headline": "Logos for bakeries",
        "bio": "I draw logos.",
        "hourly_rate": {"amount": 4500, "currency": "EUR"},
        "skills": ["logo-design", "illustration"],
        "visibility": "public",
        "portfolio": [
            {
                "title": "Corner Bakery",
                "link": "https://example.com/corner",
                "description": "A rebrand.",
            }
        ],
        "credentials": [
            {"title": "BA Graphic Design", "issuer": "UdK Berlin", "year": 2015, "url": ""}
        ],
    }
    body.update(changes)
    return body


def provider_with_profile(
    username: str = "provider",
    *,
    visibility: str = "public",
    headline: str = "Logos for bakeries",
    skills: tuple[str, ...] = ("logo-design",),
    **user_fields: Any,
) -> User:
    provider = UserFactory(username=username, is_provider=True, **user_fields)
    profile_update(
        provider=provider,
        headline=headline,
        bio="",
        hourly_rate=HourlyRate(amount=4500, currency="EUR"),
        skills=list(skills),
        visibility=visibility,
        portfolio=[PortfolioEntry(title="Corner Bakery", link="https://example.com/corner")],
        credentials=[],
    )
    return provider


def stored_profiles() -> int:
    return ProviderProfile.objects.count()
