"""The profile pages through Django's test client: a profile, its editor, the search."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import PortfolioItem, ProviderProfile
from tests.factories import UserFactory, conversation_between
from tests.projects.profiles import provider_with_profile, stored_profiles

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]


def edit_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "headline": "Logos for bakeries",
        "bio": "I draw logos.",
        "rate": "45.50",
        "currency": "EUR",
        "visibility": "public",
        "skills": ["logo-design", "illustration"],
        "portfolio-0-title": "Corner Bakery",
        "portfolio-0-link": "https://example.com/corner",
        "portfolio-0-description": "A rebrand.",
        "portfolio-1-title": "",
        "portfolio-1-link": "",
        "portfolio-1-description": "",
        "credential-0-title": "BA Graphic Design",
        "credential-0-issuer": "UdK Berlin",
        "credential-0-year": "2015",
        "credential-0-url": "",
    }
    form.update(changes)
    return form


def test_a_public_profile_page_shows_rate_skills_portfolio_and_badges(client: Client) -> None:
    # given a vetted provider with a public profile
    provider_with_profile(display_name="Pat Provider", vetted_at=timezone.now())
    # when an anonymous visitor opens it
    page = client.get("/profiles/provider/")
    html = page.content.decode()
    # then
    assert page.status_code == 200
    assert '<h1 id="profile-heading">Pat Provider</h1>' in html
    assert "45.00 EUR per hour" in html
    assert '<li class="skill-tag">Logo design</li>' in html
    assert 'href="https://example.com/corner"' in html
    assert '<li class="profile-badge profile-badge--vetted">Vetted</li>' in html
    assert "Raising invoices requires a verified e-mail address and phone number." in html


def test_a_private_profile_page_is_a_404_to_strangers(client: Client) -> None:
    provider = provider_with_profile(visibility="private")
    assert client.get("/profiles/provider/").status_code == 404
    client.force_login(UserFactory(username="stranger", is_buyer=True))
    assert client.get("/profiles/provider/").status_code == 404
    buyer = UserFactory(username="buyer", is_buyer=True)
    conversation_between(buyer, provider)
    client.force_login(buyer)
    assert client.get("/profiles/provider/").status_code == 200


def test_view_as_on_the_page(client: Client) -> None:
    # given a public profile and its owner
    provider = provider_with_profile()
    client.force_login(provider)
    # when
    as_public = client.get("/profiles/provider/?view_as=public").content.decode()
    # then: no owner links, a note saying what this is
    assert "You are seeing your profile as others see it" in as_public
    assert "Edit profile" not in as_public
    # and once private, the owner previewing gets the stranger's 404, told why
    ProviderProfile.objects.filter(user=provider).update(visibility="private")
    hidden = client.get("/profiles/provider/?view_as=public")
    assert hidden.status_code == 404
    assert "Your profile is private" in hidden.content.decode()


def test_the_editor_has_labelled_fields_and_a_view_as_link(client: Client) -> None:
    client.force_login(UserFactory(username="provider", is_provider=True))
    html = client.get("/profile/edit/").content.decode()
    assert '<label class="field__label" for="profile-headline">Headline</label>' in html
    assert '<label class="field__label" for="profile-rate">Hourly rate</label>' in html
    assert '<label for="skill-logo-design">Logo design</label>' in html
    assert '<label class="field__label" for="portfolio-0-title">Title</label>' in html
    assert 'href="/profiles/provider/?view_as=public">View as others see it</a>' in html
    assert ">Save profile</button>" in html


def test_saving_the_editor_stores_the_profile(client: Client) -> None:
    # given
    provider = UserFactory(username="provider", is_provider=True)
    client.force_login(provider)
    # when
    saved = client.post("/profile/edit/", edit_form())
    # then
    assert (saved.status_code, saved["Location"]) == (302, "/profile/edit/?saved=1")
    profile = ProviderProfile.objects.get(user=provider)
    assert (profile.hourly_rate_amount, profile.hourly_rate_currency) == (4550, "EUR")
    assert sorted(profile.skills.values_list("slug", flat=True)) == ["illustration", "logo-design"]
    assert list(profile.portfolio_items.values_list("title", flat=True)) == ["Corner Bakery"]
    assert list(profile.credentials.values_list("year", flat=True)) == [2015]
    assert "Your profile is saved." in client.get(saved["Location"]).content.decode()


def test_the_editor_refuses_bad_input_and_stores_nothing(client: Client) -> None:
    # given
    client.force_login(UserFactory(username="provider", is_provider=True))
    # when a link has a bad scheme and a skill is unknown
    page = client.post(
        "/profile/edit/",
        edit_form(**{"portfolio-0-link": "javascript:alert(1)", "skills": ["nope"]}),
    )
    # then
    html = page.content.decode()
    assert page.status_code == 400
    assert "Enter an http:// or https:// link." in html
    assert "Unknown skill: &#x27;nope&#x27;." in html
    assert 'value="Corner Bakery"' in html  # what was typed is kept
    assert stored_profiles() == 0
    assert PortfolioItem.objects.count() == 0


def test_the_editor_is_for_providers(client: Client) -> None:
    assert client.get("/profile/edit/")["Location"].startswith("/?next=")
    client.force_login(UserFactory(username="buyer", is_buyer=True))
    assert client.get("/profile/edit/").status_code == 403


def test_the_provider_search_page_lists_public_profiles_only(client: Client) -> None:
    # given
    provider_with_profile("open", display_name="Open Olga", vetted_at=timezone.now())
    provider_with_profile("hidden", display_name="Hidden Hal", visibility="private")
    # when
    page = client.get("/providers/?q=logo&vetted=true")
    html = page.content.decode()
    # then
    assert page.status_code == 200
    assert '<a href="/profiles/open/">Open Olga</a>' in html
    assert "Hidden Hal" not in html
    assert '<label for="search-vetted">Vetted only</label>' in html
    assert "Showing 1\u20131 of 1 provider." in html


def test_the_header_links_to_search_and_to_my_profile(client: Client) -> None:
    client.force_login(UserFactory(username="provider", is_provider=True))
    html = client.get("/providers/").content.decode()
    assert '<a href="/providers/">Find providers</a>' in html
    assert '<a href="/profile/edit/">My profile</a>' in html
