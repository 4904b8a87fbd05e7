"""Helpers of the marketplace tests: signed-in clients and the usual first steps."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.models import User
from tests.factories import UserFactory


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def buyer(username: str = "bea") -> User:
    return UserFactory(username=username, display_name=username.title(), is_buyer=True)


def provider(username: str = "pia") -> User:
    return UserFactory(username=username, display_name=username.title(), is_provider=True)


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


PROJECT = {
    "title": "Bakery logo",
    "description": "A logo for a small bakery in Lyon.",
    "category": "design",
    "skills": ["logo-design", "brand-identity"],
    "budget": {"amount": 50000, "currency": "EUR", "kind": "fixed"},
}
PROPOSAL = {
    "cover_letter": "I have drawn logos for three bakeries.",
    "amount": 45000,
    "currency": "EUR",
    "duration_days": 14,
}


def project_posted(client: Client, **changes: Any) -> dict[str, Any]:
    response = post(client, "/api/projects/", {**PROJECT, **changes})
    assert response.status_code == 201, response.json()
    return dict(response.json())


def proposal_sent(client: Client, project_id: int, **changes: Any) -> dict[str, Any]:
    response = post(client, f"/api/projects/{project_id}/proposals/", {**PROPOSAL, **changes})
    assert response.status_code == 201, response.json()
    return dict(response.json())
