"""GET /api/account/, and login throttling."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_the_account_shows_roles_badges_mfa_and_terms(client: Client) -> None:
    # given
    user = UserFactory(username="pat", display_name="Pat", is_provider=True, email="p@example.com")
    EmailAddress.objects.create(user=user, email="p@example.com", verified=True, primary=True)
    client.force_login(user)
    # when
    response = client.get("/api/account/")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": "pat",
        "name": "Pat",
        "email": "p@example.com",
        "roles": ["provider"],
        "verification": {
            "email_verified": True,
            "phone_verified": False,
            "id_verified": False,
            "business_verified": False,
            "vetted": False,
        },
        "phone_number": "",
        "mfa_enabled": False,
        "terms_version_accepted": settings.TERMS_VERSION,
        "terms_version_current": settings.TERMS_VERSION,
    }


def test_the_account_is_for_signed_in_users(client: Client) -> None:
    response = client.get("/api/account/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_existing_accounts_without_an_address_still_sign_in(client: Client) -> None:
    UserFactory(username="bea")
    response = client.post(
        "/api/auth/login/", {"username": "bea", "password": PASSWORD}, "application/json"
    )
    assert response.status_code == 200


def test_login_is_throttled_after_repeated_failures(client: Client) -> None:
    # given: five wrong passwords for one username
    UserFactory(username="bea")
    failures = [
        client.post("/", {"username": "bea", "password": f"wrong {n}"}).status_code
        for n in range(5)
    ]
    # when: the right password, on the form and on the API
    page = client.post("/", {"username": "bea", "password": PASSWORD})
    api = client.post(
        "/api/auth/login/", {"username": "bea", "password": PASSWORD}, "application/json"
    )
    # then
    assert failures == [400] * 5
    assert page.status_code == 429
    assert "Too many failed sign-in attempts" in page.content.decode()
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "rate_limited"
    assert client.get("/api/auth/me/").status_code == 401


def test_allauth_login_is_throttled_too(client: Client) -> None:
    UserFactory(username="bea")
    for n in range(5):
        client.post("/account/login/", {"login": "bea", "password": f"wrong {n}"})
    page = client.post("/account/login/", {"login": "bea", "password": PASSWORD})
    assert "Too many failed login attempts" in page.content.decode()
    assert client.get("/api/auth/me/").status_code == 401
