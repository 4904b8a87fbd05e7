"""The web app's pages through Django's test client: landmarks, sign-in, sign-out, access."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import user_ban
from tests.factories import PASSWORD, UserFactory, conversation_between

pytestmark = pytest.mark.django_db


def test_a_visitor_gets_the_sign_in_form_with_its_landmarks(client: Client) -> None:
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert ">Username</label>" in html
    assert ">Password</label>" in html
    assert ">Sign in</button>" in html


def test_signing_in_opens_the_inbox_with_a_link_per_conversation(client: Client) -> None:
    # given
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    conversation = conversation_between(buyer, provider, title="Bakery logo")
    # when
    signed_in = client.post("/", {"username": "buyer", "password": PASSWORD})
    inbox = client.get("/")
    # then
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")
    assert f'href="/conversations/{conversation.pk}/"' in inbox.content.decode()
    assert "Bakery logo" in inbox.content.decode()


def test_wrong_credentials_show_the_form_again_and_sign_in_nobody(client: Client) -> None:
    UserFactory(username="buyer")
    page = client.post("/", {"username": "buyer", "password": "wrong"})
    assert page.status_code == 400
    assert "Incorrect username or password." in page.content.decode()
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_a_banned_user_cannot_sign_in(client: Client) -> None:
    user_ban(user=UserFactory(username="buyer"))
    page = client.post("/", {"username": "buyer", "password": PASSWORD})
    assert page.status_code == 403
    assert client.get("/api/auth/me/").status_code == 401


def test_sign_in_does_not_redirect_off_site(client: Client) -> None:
    UserFactory(username="buyer")
    signed_in = client.post(
        "/", {"username": "buyer", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert signed_in["Location"] == "/"


def test_the_conversation_page_has_its_landmarks(client: Client) -> None:
    # given
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    conversation = conversation_between(buyer, provider)
    client.force_login(buyer)
    # when
    html = client.get(f"/conversations/{conversation.pk}/").content.decode()
    # then
    assert 'role="log"' in html
    assert '<label class="visually-hidden" for="composer-body">Message</label>' in html
    assert ">Send</button>" in html


def test_the_conversation_page_is_for_members_only(client: Client) -> None:
    # given
    buyer, provider = UserFactory(username="buyer"), UserFactory(username="provider")
    conversation = conversation_between(buyer, provider)
    # when / then: a visitor is sent to sign in, an outsider and a missing id get 404
    assert client.get(f"/conversations/{conversation.pk}/")["Location"].startswith("/?next=")
    client.force_login(UserFactory(username="outsider"))
    assert client.get(f"/conversations/{conversation.pk}/").status_code == 404
    assert client.get(f"/conversations/{uuid.uuid4()}/").status_code == 404


def test_signing_out_ends_the_session(client: Client) -> None:
    client.force_login(UserFactory(username="buyer"))
    assert client.get("/api/auth/me/").status_code == 200
    signed_out = client.post("/logout/")
    assert (signed_out.status_code, signed_out["Location"]) == (302, "/")
    assert client.get("/api/auth/me/").status_code == 401


def test_signing_out_takes_post_only(client: Client) -> None:
    client.force_login(UserFactory(username="buyer"))
    assert client.get("/logout/").status_code == 405
    assert client.get("/api/auth/me/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/conversations/{conversation}/"])
def test_a_session_that_outlived_a_ban_is_ended_with_a_403(client: Client, path: str) -> None:
    # given a signed-in buyer with a conversation, banned while the session lives
    buyer = UserFactory(username="buyer", is_buyer=True)
    conversation = conversation_between(buyer, UserFactory(username="pia", is_provider=True))
    client.force_login(buyer)
    user_ban(user=buyer)
    # when
    response = client.get(path.format(conversation=conversation.pk))
    # then the sign-in page says why, and the session is gone
    assert response.status_code == 403
    assert "This account has been banned" in response.content.decode()
    assert "_auth_user_id" not in client.session
