"""Vetting: a provider asks, support staff vet (the badge) or ask for changes with a reason."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from reports.models import VettingRequest
from tests.factories import UserFactory
from tests.projects.profiles import provider_with_profile

pytestmark = pytest.mark.django_db


def _asking_provider(username: str = "pia") -> tuple[User, Client]:
    provider = provider_with_profile(username)
    client = Client()
    client.force_login(provider)
    return provider, client


def test_a_provider_with_a_profile_asks_to_be_vetted(taxonomy: None) -> None:
    # given
    provider, client = _asking_provider()
    # when
    response = client.post("/api/profiles/me/vetting/")
    # then
    assert response.status_code == 201
    found = VettingRequest.objects.get()
    assert response.json() == {
        "id": found.pk,
        "state": "pending",
        "requested_at": found.requested_at.isoformat(),
        "decided_at": None,
        "reason": "",
    }
    assert found.user == provider
    assert client.get("/api/profiles/me/vetting/").json()["state"] == "pending"


def test_asking_twice_while_pending_is_refused(taxonomy: None) -> None:
    _, client = _asking_provider()
    client.post("/api/profiles/me/vetting/")
    response = client.post("/api/profiles/me/vetting/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "vetting_pending"
    assert VettingRequest.objects.count() == 1


def test_a_provider_without_a_saved_profile_is_refused() -> None:
    client = Client()
    client.force_login(UserFactory(username="pia", is_provider=True))
    response = client.post("/api/profiles/me/vetting/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "profile_missing"
    assert VettingRequest.objects.count() == 0


def test_a_buyer_cannot_ask_to_be_vetted() -> None:
    client = Client()
    client.force_login(UserFactory(username="bea", is_buyer=True))
    response = client.post("/api/profiles/me/vetting/")
    assert response.status_code == 403
    assert VettingRequest.objects.count() == 0


def test_staff_see_the_queue_and_vet(taxonomy: None, staff: User, staff_client: Client) -> None:
    # given
    provider, client = _asking_provider()
    client.post("/api/profiles/me/vetting/")
    found = VettingRequest.objects.get()
    # when
    queue = staff_client.get("/api/staff/vetting/")
    response = staff_client.post(
        f"/api/staff/vetting/{found.pk}/decision/",
        {"decision": "vet", "reason": ""},
        content_type="application/json",
    )
    # then
    assert [(entry["id"], entry["user"]["username"]) for entry in queue.json()] == [
        (found.pk, "pia")
    ]
    assert queue.json()[0]["profile_url"] == "/profiles/pia/"
    assert response.status_code == 200
    assert response.json()["state"] == "vetted"
    found.refresh_from_db()
    provider.refresh_from_db()
    assert (found.state, found.decided_by) == ("vetted", staff)
    assert provider.vetted_at == found.decided_at
    assert client.get("/api/profiles/pia/").json()["badges"]["vetted"] is True
    assert staff_client.get("/api/staff/vetting/").json() == []
    page = Client().get("/profiles/pia/").content.decode()
    assert '<li class="profile-badge profile-badge--vetted">Vetted</li>' in page
    again = client.post("/api/profiles/me/vetting/")
    assert again.json()["error"]["code"] == "already_vetted"


def test_staff_ask_for_changes_with_a_reason(taxonomy: None, staff_client: Client) -> None:
    # given
    provider, client = _asking_provider()
    client.post("/api/profiles/me/vetting/")
    found = VettingRequest.objects.get()
    # when
    response = staff_client.post(
        f"/api/staff/vetting/{found.pk}/decision/",
        {"decision": "changes", "reason": "Add a portfolio link that works."},
        content_type="application/json",
    )
    # then
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.vetted_at is None
    mine = client.get("/api/profiles/me/vetting/").json()
    assert (mine["state"], mine["reason"]) == ("changes", "Add a portfolio link that works.")
    editor = client.get("/profile/edit/").content.decode()
    assert "Support staff asked for changes: Add a portfolio link that works." in editor
    assert client.post("/api/profiles/me/vetting/").status_code == 201  # asks again


def test_asking_for_changes_without_a_reason_is_refused(
    taxonomy: None, staff_client: Client
) -> None:
    _, client = _asking_provider()
    client.post("/api/profiles/me/vetting/")
    found = VettingRequest.objects.get()
    response = staff_client.post(
        f"/api/staff/vetting/{found.pk}/decision/",
        {"decision": "changes"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["Say why, for the member to read."]}
    found.refresh_from_db()
    assert found.state == "pending"


def test_members_and_staff_without_mfa_are_refused(taxonomy: None) -> None:
    # given
    provider, client = _asking_provider()
    client.post("/api/profiles/me/vetting/")
    found = VettingRequest.objects.get()
    no_mfa = Client()
    no_mfa.force_login(UserFactory(username="nomfa", is_support=True))
    # when
    by_member = client.post(
        f"/api/staff/vetting/{found.pk}/decision/",
        {"decision": "vet"},
        content_type="application/json",
    )
    by_staff_without_mfa = no_mfa.get("/api/staff/vetting/")
    # then
    assert (by_member.status_code, by_member.json()["error"]["code"]) == (
        403,
        "permission_denied",
    )
    assert (by_staff_without_mfa.status_code, by_staff_without_mfa.json()["error"]["code"]) == (
        403,
        "mfa_required",
    )
    found.refresh_from_db()
    provider.refresh_from_db()
    assert (found.state, provider.vetted_at) == ("pending", None)
