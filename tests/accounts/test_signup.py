"""Sign-up through allauth: e-mail verification, the Terms, roles, and bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client

from accounts.models import TermsAcceptance, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "newbuyer",
    "email": "new.buyer@example.com",
    "password1": PASSWORD,
    "password2": PASSWORD,
    "display_name": "Nina Newbuyer",
    "is_buyer": "on",
    "accept_terms": "on",
}


def _link(message: Any) -> str:
    found = re.search(r"https?://testserver(/account/confirm-email/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_the_sign_in_page_links_to_sign_up(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<a href="/account/signup/">Create an account</a>' in html


def test_the_sign_up_page_has_labelled_fields_and_the_terms_checkbox(client: Client) -> None:
    html = client.get("/account/signup/").content.decode()
    assert '<label class="field__label" for="id_username">Username</label>' in html
    assert '<label class="field__label" for="id_display_name">Display name</label>' in html
    assert '<label for="id_accept_terms">I accept the Terms of Service</label>' in html


def test_sign_up_sends_a_verification_email_whose_link_verifies_the_address(
    client: Client, mailoutbox: list[Any]
) -> None:
    # when
    response = client.post("/account/signup/", SIGNUP)
    # then: the account exists, unverified, with its roles and the current Terms accepted
    assert response.status_code == 302
    user = User.objects.get(username="newbuyer")
    assert (user.display_name, user.is_buyer, user.is_provider) == ("Nina Newbuyer", True, False)
    assert list(TermsAcceptance.objects.filter(user=user).values_list("version", flat=True)) == [
        settings.TERMS_VERSION
    ]
    assert user.email_verified is False
    assert [m.to for m in mailoutbox] == [["new.buyer@example.com"]]
    # when: the link is followed and confirmed
    link = _link(mailoutbox[0])
    assert client.get(link).status_code == 200
    confirmed = client.post(link)
    # then
    assert confirmed.status_code == 302
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified) == ("new.buyer@example.com", True)
    assert User.objects.get(pk=user.pk).email_verified is True


def test_an_unverified_account_cannot_sign_in_through_the_legacy_forms(client: Client) -> None:
    # given
    client.post("/account/signup/", SIGNUP)
    client.logout()
    # when
    page = client.post("/", {"username": "newbuyer", "password": PASSWORD})
    api = client.post(
        "/api/auth/login/",
        {"username": "newbuyer", "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert page.status_code == 403
    assert "Verify your e-mail address first" in page.content.decode()
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "email_unverified"
    assert client.get("/api/auth/me/").status_code == 401


def test_sign_up_without_accepting_the_terms_stores_no_user(
    client: Client, mailoutbox: list[Any]
) -> None:
    # given
    data = {key: value for key, value in SIGNUP.items() if key != "accept_terms"}
    # when
    response = client.post("/account/signup/", data)
    # then
    assert response.status_code == 200
    assert "You must accept the Terms of Service to sign up." in response.content.decode()
    assert not User.objects.filter(username="newbuyer").exists()
    assert EmailAddress.objects.count() == 0
    assert mailoutbox == []


def test_sign_up_without_a_role_stores_no_user(client: Client) -> None:
    data = {key: value for key, value in SIGNUP.items() if key != "is_buyer"}
    response = client.post("/account/signup/", data)
    assert "Choose at least one role" in response.content.decode()
    assert not User.objects.filter(username="newbuyer").exists()


def test_api_sign_up_sends_the_verification_email(client: Client, mailoutbox: list[Any]) -> None:
    # when
    response = client.post(
        "/api/auth/signup/",
        {
            "username": "newpro",
            "email": "pro@example.com",
            "password": PASSWORD,
            "name": "Pia Pro",
            "roles": ["buyer", "provider"],
            "accept_terms": True,
        },
        content_type="application/json",
    )
    # then
    assert response.status_code == 201
    assert response.json() == {"email": "pro@example.com", "verification_sent": True}
    user = User.objects.get(username="newpro")
    assert (user.is_buyer, user.is_provider, user.email_verified) == (True, True, False)
    assert [m.to for m in mailoutbox] == [["pro@example.com"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"accept_terms": False}, "accept_terms"),
        ({"password": "123"}, "password"),
        ({"roles": []}, "roles"),
        ({"roles": ["admin"]}, "roles"),
    ],
)
def test_api_sign_up_with_bad_input_is_a_400_and_stores_nothing(
    client: Client, mailoutbox: list[Any], change: dict[str, Any], field: str
) -> None:
    # given
    data = {
        "username": "newpro",
        "email": "pro@example.com",
        "password": PASSWORD,
        "name": "Pia Pro",
        "roles": ["provider"],
        "accept_terms": True,
        **change,
    }
    # when
    response = client.post("/api/auth/signup/", data, content_type="application/json")
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert User.objects.count() == 0
    assert EmailAddress.objects.count() == 0
    assert mailoutbox == []
