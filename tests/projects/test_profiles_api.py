"""Provider profiles through the REST API: editing, visibility, "view as" and search."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import Credential, PortfolioItem, ProviderProfile
from tests.factories import UserFactory, conversation_between
from tests.projects.profiles import profile_body, provider_with_profile, stored_profiles

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]

TWENTY_ONE_SKILLS = [
    "logo-design",
    "python",
    "django",
    "javascript",
    "react",
    "wordpress",
    "mobile-apps",
    "devops",
    "qa-testing",
    "copywriting",
    "blog-writing",
    "technical-writing",
    "proofreading",
    "ghostwriting",
    "grant-writing",
    "seo",
    "paid-ads",
    "sql",
    "excel",
    "data-entry",
    "bookkeeping",
]
NOT_FOUND = {"error": {"code": "not_found", "message": "No such profile.", "fields": {}}}


def put_profile(client: Client, body: dict[str, Any]) -> Any:
    return client.put("/api/profiles/me/", json.dumps(body), content_type="application/json")


def signed_in_provider(client: Client, username: str = "provider") -> Any:
    provider = UserFactory(username=username, is_provider=True)
    client.force_login(provider)
    return provider


# -- editing -------------------------------------------------------------------------------------


def test_a_provider_saves_the_whole_profile_and_reads_it_back(client: Client) -> None:
    # given
    signed_in_provider(client)
    # when
    saved = put_profile(client, profile_body())
    # then
    assert saved.status_code == 200
    mine = client.get("/api/profiles/me/").json()
    assert mine == saved.json()
    assert {key: mine[key] for key in mine if key != "updated_at"} == {
        "username": "provider",
        "name": "Provider",
        "headline": "Logos for bakeries",
        "bio": "I draw logos.",
        "hourly_rate": {"amount": 4500, "currency": "EUR"},
        "skills": [
            {"slug": "logo-design", "name": "Logo design", "category": "design"},
            {"slug": "illustration", "name": "Illustration", "category": "design"},
        ],
        "visibility": "public",
        "portfolio": [
            {
                "id": PortfolioItem.objects.get().pk,
                "title": "Corner Bakery",
                "link": "https://example.com/corner",
                "description": "A rebrand.",
                "file": None,
            }
        ],
        "credentials": [
            {"title": "BA Graphic Design", "issuer": "UdK Berlin", "year": 2015, "url": ""}
        ],
        "badges": {
            "email": False,
            "phone": False,
            "id": False,
            "business": False,
            "vetted": False,
        },
        "invoicing_requires": ["email", "phone"],
        "assessments": [],
        "performance": {
            "contracts_ended": 0,
            "completion_rate": None,
            "on_time_rate": None,
            "median_response_minutes": None,
            "dispute_rate": None,
            "average_rating": None,
            "reviews": 0,
        },
        "reviews": [],
        "endorsements": [],
    }


def test_a_second_save_replaces_everything(client: Client) -> None:
    # given a saved profile
    signed_in_provider(client)
    put_profile(client, profile_body())
    # when saved again with other skills, no rate, no portfolio and no credentials
    saved = put_profile(
        client,
        profile_body(skills=["python"], hourly_rate=None, portfolio=[], credentials=[]),
    )
    # then
    assert saved.status_code == 200
    assert [s["slug"] for s in saved.json()["skills"]] == ["python"]
    assert saved.json()["hourly_rate"] is None
    assert PortfolioItem.objects.count() == 0
    assert Credential.objects.count() == 0
    assert ProviderProfile.objects.count() == 1


def test_before_the_first_save_a_provider_reads_an_empty_profile(client: Client) -> None:
    signed_in_provider(client)
    mine = client.get("/api/profiles/me/").json()
    assert (mine["headline"], mine["skills"], mine["visibility"]) == ("", [], "public")
    assert stored_profiles() == 0


def test_only_providers_have_a_profile(client: Client) -> None:
    # given a buyer
    client.force_login(UserFactory(username="buyer", is_buyer=True))
    # when
    response = put_profile(client, profile_body())
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert stored_profiles() == 0


def test_editing_needs_a_signed_in_user(client: Client) -> None:
    response = put_profile(client, profile_body())
    assert response.status_code == 401
    assert stored_profiles() == 0


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"skills": ["logo-design", "underwater-basket-weaving"]},
            {"skills": ["Unknown skill: 'underwater-basket-weaving'."]},
        ),
        (
            {"bio": "x" * 5001},
            {"bio": ["Ensure this value has at most 5000 characters (it has 5001)."]},
        ),
        (
            {"headline": "h" * 121},
            {"headline": ["Ensure this value has at most 120 characters (it has 121)."]},
        ),
        (
            {"hourly_rate": {"amount": 4500, "currency": "eur"}},
            {
                "hourly_rate": {
                    "currency": ["Enter an ISO 4217 currency code: three capital letters."]
                }
            },
        ),
        (
            {"hourly_rate": {"amount": 4500, "currency": "XYZ"}},
            {"hourly_rate": {"currency": ["Unknown currency: 'XYZ'."]}},
        ),
        (
            {"hourly_rate": {"amount": -1, "currency": "EUR"}},
            {"hourly_rate": {"amount": ["Ensure this value is greater than or equal to 0."]}},
        ),
        (
            {"portfolio": [{"title": "Site", "link": "javascript:alert(1)", "description": ""}]},
            {"portfolio": [{"link": ["Enter a valid URL.", "Enter an http:// or https:// link."]}]},
        ),
        (
            {"portfolio": [{"title": "Site", "link": "ftp://example.com/x", "description": ""}]},
            {"portfolio": [{"link": ["Enter an http:// or https:// link."]}]},
        ),
        (
            {"portfolio": [{"title": "", "link": "", "description": "d" * 2001}]},
            {
                "portfolio": [
                    {
                        "title": ["This field cannot be blank."],
                        "description": [
                            "Ensure this value has at most 2000 characters (it has 2001)."
                        ],
                    }
                ]
            },
        ),
        (
            {"credentials": [{"title": "Cert", "year": 1066}]},
            {"credentials": [{"year": ["Ensure this value is greater than or equal to 1900."]}]},
        ),
        (
            {"visibility": "friends"},
            {"visibility": ["Value 'friends' is not a valid choice."]},
        ),
        (
            {"skills": TWENTY_ONE_SKILLS},
            {"skills": ["At most 20 skills."]},
        ),
    ],
)
def test_bad_profile_input_is_a_400_naming_the_field_and_stores_nothing(
    client: Client, changes: dict[str, Any], fields: dict[str, Any]
) -> None:
    # given a provider without a profile
    signed_in_provider(client)
    # when
    response = put_profile(client, profile_body(**changes))
    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid", "message": "The profile is not valid.", "fields": fields}
    }
    assert stored_profiles() == 0
    assert PortfolioItem.objects.count() == 0
    assert Credential.objects.count() == 0


def test_a_bad_edit_leaves_the_saved_profile_as_it_was(client: Client) -> None:
    # given a saved profile
    signed_in_provider(client)
    before = put_profile(client, profile_body()).json()
    # when an edit carries a huge bio along with other changes
    response = put_profile(
        client, profile_body(headline="New", bio="x" * 100_000, skills=["python"], portfolio=[])
    )
    # then
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["bio"]
    assert client.get("/api/profiles/me/").json() == before


def test_a_body_of_the_wrong_shape_is_a_400(client: Client) -> None:
    signed_in_provider(client)
    response = put_profile(client, {"headline": 5, "skills": "python"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {
        "bio",
        "hourly_rate",
        "skills",
        "visibility",
        "portfolio",
        "credentials",
    }
    assert stored_profiles() == 0


# -- visibility ----------------------------------------------------------------------------------


def test_a_public_profile_is_shown_to_anonymous_visitors(client: Client) -> None:
    provider_with_profile()
    response = client.get("/api/profiles/provider/")
    assert response.status_code == 200
    assert response.json()["headline"] == "Logos for bakeries"


def test_a_private_profile_is_a_404_to_strangers_like_a_missing_one(client: Client) -> None:
    # given
    provider_with_profile(visibility="private")
    # when / then: anonymous, as for a name that does not exist
    assert client.get("/api/profiles/provider/").json() == NOT_FOUND
    assert client.get("/api/profiles/provider/").status_code == 404
    assert client.get("/api/profiles/nobody/").json() == NOT_FOUND
    # and a signed-in buyer with no conversation with the provider
    client.force_login(UserFactory(username="stranger", is_buyer=True))
    response = client.get("/api/profiles/provider/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_a_private_profile_is_shown_to_a_buyer_who_shares_a_conversation(client: Client) -> None:
    # given
    provider = provider_with_profile(visibility="private")
    buyer = UserFactory(username="buyer", is_buyer=True)
    conversation_between(buyer, provider)
    client.force_login(buyer)
    # when
    response = client.get("/api/profiles/provider/")
    # then
    assert response.status_code == 200
    assert response.json()["visibility"] == "private"


def test_only_the_buyer_side_of_a_shared_conversation_counts(client: Client) -> None:
    # given a private provider who is the buyer in a conversation with a colleague
    provider = provider_with_profile(visibility="private")
    colleague = UserFactory(username="colleague", is_provider=True)
    conversation_between(provider, colleague)  # the provider is the buyer here
    client.force_login(colleague)
    # when / then: the colleague shares a conversation, but not as its buyer
    assert client.get("/api/profiles/provider/").status_code == 404


def test_a_private_profile_is_shown_to_support_and_to_its_owner(client: Client) -> None:
    provider = provider_with_profile(visibility="private")
    client.force_login(UserFactory(username="support", is_support=True, is_staff=True))
    assert client.get("/api/profiles/provider/").status_code == 200
    client.force_login(provider)
    assert client.get("/api/profiles/provider/").status_code == 200


def test_a_banned_providers_profile_is_gone(client: Client) -> None:
    provider_with_profile(standing="banned")
    assert client.get("/api/profiles/provider/").json() == NOT_FOUND
    assert client.get("/api/providers/").json()["count"] == 0


# -- view as ---------------------------------------------------------------------------------------


def test_view_as_public_shows_the_owner_exactly_what_a_stranger_gets(client: Client) -> None:
    # given a public profile
    provider = provider_with_profile()
    stranger_sees = client.get("/api/profiles/provider/").json()
    # when its owner views it as the public
    client.force_login(provider)
    response = client.get("/api/profiles/provider/?view_as=public")
    # then
    assert response.status_code == 200
    assert response.json() == stranger_sees


def test_view_as_public_of_a_private_profile_is_the_strangers_404(client: Client) -> None:
    # given a private profile, which its owner sees
    provider = provider_with_profile(visibility="private")
    client.force_login(provider)
    assert client.get("/api/profiles/provider/").status_code == 200
    # when viewed as the public
    response = client.get("/api/profiles/provider/?view_as=public")
    # then
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_view_as_public_drops_a_connected_buyers_access_too(client: Client) -> None:
    provider = provider_with_profile(visibility="private")
    buyer = UserFactory(username="buyer", is_buyer=True)
    conversation_between(buyer, provider)
    client.force_login(buyer)
    assert client.get("/api/profiles/provider/?view_as=public").status_code == 404


def test_view_as_anything_else_is_a_400(client: Client) -> None:
    provider_with_profile()
    response = client.get("/api/profiles/provider/?view_as=support")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"view_as": ["Only 'public' is known."]}


# -- badges ----------------------------------------------------------------------------------------


def test_the_badges_follow_the_users_verifications(client: Client) -> None:
    now = timezone.now()
    provider_with_profile(phone_verified_at=now, id_verified_at=now, vetted_at=now)
    badges = client.get("/api/profiles/provider/").json()["badges"]
    assert badges == {"email": False, "phone": True, "id": True, "business": False, "vetted": True}


# -- search ----------------------------------------------------------------------------------------


def usernames(response: Any) -> list[str]:
    return [result["username"] for result in response.json()["results"]]


def test_private_profiles_never_appear_in_search(client: Client) -> None:
    # given a public and a private provider with the same skill
    provider_with_profile("open", headline="Logos")
    hidden = provider_with_profile("hidden", visibility="private", headline="Logos")
    # when anybody searches, even the private provider and support staff
    searches = [client.get("/api/providers/?q=logo").json()]
    client.force_login(hidden)
    searches.append(client.get("/api/providers/?skill=logo-design").json())
    client.force_login(UserFactory(username="support", is_support=True))
    searches.append(client.get("/api/providers/").json())
    # then
    assert [[r["username"] for r in s["results"]] for s in searches] == [["open"]] * 3
    assert [s["count"] for s in searches] == [1, 1, 1]


def test_search_matches_name_headline_and_skills(client: Client) -> None:
    provider_with_profile("ana", headline="Bakery branding", skills=("logo-design",))
    provider_with_profile("bob", headline="APIs", skills=("python", "django"))
    provider_with_profile("cyd", headline="Words", skills=("copywriting",), display_name="Cyd Zed")
    assert usernames(client.get("/api/providers/?q=bakery")) == ["ana"]
    assert usernames(client.get("/api/providers/?q=django")) == ["bob"]
    assert usernames(client.get("/api/providers/?q=zed")) == ["cyd"]
    assert usernames(client.get("/api/providers/?category=development")) == ["bob"]
    assert usernames(client.get("/api/providers/?skill=copywriting")) == ["cyd"]


def test_the_vetted_filter_and_vetted_providers_first(client: Client) -> None:
    # given an unvetted provider who updated last, and a vetted one
    provider_with_profile("vetted", vetted_at=timezone.now())
    provider_with_profile("unvetted")
    # when / then
    assert usernames(client.get("/api/providers/")) == ["vetted", "unvetted"]
    assert usernames(client.get("/api/providers/?vetted=true")) == ["vetted"]


def test_search_pages_with_limit_and_offset(client: Client) -> None:
    for name in ["p1", "p2", "p3"]:
        provider_with_profile(name)
    page = client.get("/api/providers/?limit=2&offset=2").json()
    assert (page["count"], page["limit"], page["offset"], len(page["results"])) == (3, 2, 2, 1)
    assert client.get("/api/providers/?limit=51").status_code == 400


def test_search_by_an_unknown_skill_or_category_is_a_400(client: Client) -> None:
    response = client.get("/api/providers/?skill=nope&category=neither")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The search is not valid.",
            "fields": {
                "skill": ["Unknown skill: 'nope'."],
                "category": ["Unknown category: 'neither'."],
            },
        }
    }
