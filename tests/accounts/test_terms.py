"""Terms acceptance: recorded at sign-up, asked again when the version changes."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import TermsAcceptance
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/terms/", "Terms of Service"),
        ("/privacy/", "Privacy Policy"),
        ("/guidelines/", "Community Guidelines"),
        ("/safety/", "Safety Center"),
    ],
)
def test_the_policy_pages_are_public_and_linked_from_the_footer(
    client: Client, path: str, heading: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert f'<h1 id="policy-heading">{heading}</h1>' in page.content.decode()
    assert f'<a href="{path}">{heading}</a>' in client.get("/").content.decode()


def test_the_safety_center_gives_the_tips(client: Client) -> None:
    html = client.get("/safety/").content.decode()
    assert "Keep communication and payment on the platform." in html
    assert "Be wary of projects that pay a lot for little, or ask for free samples." in html
    assert "Never share bank or ID details" in html


def test_a_new_terms_version_asks_again(client: Client, settings: SettingsWrapper) -> None:
    # given: a user who accepted the current version
    user = UserFactory(username="bea")
    first_version = settings.TERMS_VERSION
    client.force_login(user)
    assert client.get("/").status_code == 200
    # when: the Terms change
    settings.TERMS_VERSION = "2099-01-01"
    page = client.get("/")
    api = client.get("/api/conversations/")
    # then
    assert (page.status_code, page["Location"]) == (302, "/terms/accept/?next=%2F")
    assert api.status_code == 403
    assert api.json()["error"] == {
        "code": "terms_not_accepted",
        "message": "Accept the Terms of Service (version 2099-01-01) to continue.",
        "fields": {"version": "2099-01-01"},
    }
    assert client.get("/api/account/").json()["terms_version_accepted"] != "2099-01-01"
    # when: the box is left empty, then ticked
    refused = client.post("/terms/accept/", {"next": "/"})
    accepted = client.post("/terms/accept/", {"accept_terms": "on", "next": "/"})
    # then
    assert refused.status_code == 400
    assert (accepted.status_code, accepted["Location"]) == (302, "/")
    assert set(TermsAcceptance.objects.filter(user=user).values_list("version", flat=True)) == {
        first_version,
        "2099-01-01",
    }
    assert client.get("/").status_code == 200
    assert client.get("/api/conversations/").status_code == 200


def test_the_api_records_acceptance_of_the_current_version_only(
    client: Client, settings: SettingsWrapper
) -> None:
    # given
    user = UserFactory(username="bea", terms_accepted=False)
    client.force_login(user)
    # when
    stale = client.post("/api/account/terms/", {"version": "1999-01-01"}, "application/json")
    # then
    assert stale.status_code == 400
    assert TermsAcceptance.objects.filter(user=user).count() == 0
    # when
    current = client.post(
        "/api/account/terms/", {"version": settings.TERMS_VERSION}, "application/json"
    )
    # then
    assert current.status_code == 200
    assert current.json()["terms_version_accepted"] == settings.TERMS_VERSION


def test_policy_pages_and_sign_out_stay_open_to_a_user_who_has_not_accepted(
    client: Client,
) -> None:
    client.force_login(UserFactory(username="bea", terms_accepted=False))
    assert client.get("/terms/").status_code == 200
    assert client.get("/safety/").status_code == 200
    assert client.post("/logout/").status_code == 302
