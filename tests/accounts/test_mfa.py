"""MFA: optional for members, required for support staff before staff pages and staff API."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from tests.accounts.totp import current_code, wrong_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def test_staff_without_totp_are_sent_to_mfa_setup_from_admin(client: Client) -> None:
    # given
    client.force_login(UserFactory(username="sam", is_support=True, is_staff=True))
    # when
    response = client.get("/admin/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/totp/activate/?next=%2Fadmin%2F"


def test_staff_without_totp_get_mfa_required_from_the_staff_api(client: Client) -> None:
    # given
    client.force_login(UserFactory(username="sam", is_support=True))
    # when
    response = client.get("/api/staff/ping/")
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"


def test_staff_with_totp_pass(client: Client) -> None:
    # given
    staff = UserFactory(username="sam", is_support=True, is_staff=True, is_superuser=True)
    TOTP.activate(staff, SECRET)
    client.force_login(staff)
    # when
    ping = client.get("/api/staff/ping/")
    admin = client.get("/admin/")
    # then
    assert (ping.status_code, ping.json()) == (200, {"ok": True})
    assert admin.status_code == 200


def test_members_need_no_mfa_and_are_not_staff(client: Client) -> None:
    client.force_login(UserFactory(username="bea"))
    response = client.get("/api/staff/ping/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] != "mfa_required"
    assert client.get("/api/conversations/").status_code == 200


def test_the_mfa_setup_page_is_in_the_app_frame(client: Client) -> None:
    # given: signed in at /, which allauth asks to confirm with the password before MFA setup
    UserFactory(username="sam", is_support=True)
    client.post("/", {"username": "sam", "password": PASSWORD})
    asked = client.get("/account/2fa/totp/activate/")
    assert asked["Location"] == (
        "/account/reauthenticate/?next=%2Faccount%2F2fa%2Ftotp%2Factivate%2F"
    )
    client.post("/account/reauthenticate/", {"password": PASSWORD})
    # when
    page = client.get("/account/2fa/totp/activate/")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert '<a class="app-bar__brand" href="/">Chatbox</a>' in html
    assert 'class="field__label" for="id_code"' in html


def test_api_login_of_an_account_with_totp_needs_the_code(client: Client) -> None:
    # given
    user = UserFactory(username="sam", is_support=True)
    TOTP.activate(user, SECRET)
    credentials = {"username": "sam", "password": PASSWORD}
    # when
    without = client.post("/api/auth/login/", credentials, content_type="application/json")
    wrong = client.post(
        "/api/auth/login/",
        {**credentials, "code": wrong_code(SECRET)},
        content_type="application/json",
    )
    # then
    assert (without.status_code, without.json()["error"]["code"]) == (401, "mfa_code_required")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "mfa_code_invalid")
    assert client.get("/api/auth/me/").status_code == 401
    # when
    right = client.post(
        "/api/auth/login/",
        {**credentials, "code": current_code(SECRET)},
        content_type="application/json",
    )
    # then
    assert right.status_code == 200
    assert client.get("/api/account/").json()["mfa_enabled"] is True
    assert Authenticator.objects.filter(user=user).count() == 1


def test_the_sign_in_form_hands_an_account_with_totp_to_the_second_step(client: Client) -> None:
    # given
    TOTP.activate(UserFactory(username="sam"), SECRET)
    # when
    response = client.post("/", {"username": "sam", "password": PASSWORD})
    # then: not signed in yet, asked for the code
    assert response.status_code == 302
    assert response["Location"] == "/account/2fa/authenticate/"
    assert client.get("/api/auth/me/").status_code == 401
