"""A member's own data: a copy to download, and erasure that keeps (and says) what others or
the law still need."""

from __future__ import annotations

import json
import uuid
from importlib import import_module
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client

from accounts.models import User
from chatbox.models import Event
from chatbox.services import message_send
from projects.models import ProviderProfile
from reports.disputes import dispute_open
from tests.invoices.snapshot import buyer_of, client_of, contract_of, fund, provider_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(taxonomy: None) -> Any:
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    message_send(
        conversation_id=contract.engagement.conversation_id,
        sender=contract.provider,
        client_id=uuid.uuid4(),
        body="The first drafts are ready.",
    )
    return contract


def test_a_member_downloads_a_copy_of_their_data(deal: Any) -> None:
    answer = client_of(deal.provider).get("/api/account/export/")
    assert answer.status_code == 200
    assert answer["Content-Disposition"] == 'attachment; filename="chatbox-my-data.json"'
    data = json.loads(answer.content)
    assert data["format"] == "chatbox-member-data/1"
    assert data["account"]["username"] == "pia"
    assert data["account"]["email_addresses"][0]["email"] == "pia@example.com"
    [conversation] = data["conversations"]
    assert "The first drafts are ready." in [m["body"] for m in conversation["messages"]]
    # only one's own: the buyer's copy has no provider account details
    other = json.loads(client_of(deal.buyer).get("/api/account/export/").content)
    assert other["account"]["username"] == "bea"
    assert Client().get("/api/account/export/").status_code in (401, 403)


def test_erasure_removes_what_identifies_the_member_and_keeps_the_record(deal: Any) -> None:
    # given the provider with a profile, a message and an open dispute
    pia = deal.provider
    ProviderProfile.objects.create(user=pia, headline="Logos", bio="Berlin-based designer")
    fund(deal, 10000)
    dispute_open(user=deal.buyer, contract_id=deal.pk, reason="Late", amount=5000)
    client = client_of(pia)
    # when they erase their account, with a wrong password first
    wrong = client.post(
        "/api/account/erase/", {"password": "nope"}, content_type="application/json"
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "password_invalid")
    pia.set_password("secret-pw")
    pia.save()
    client = client_of(pia)
    phone = client_of(pia)  # signed in on a second device too
    erased = client.post(
        "/api/account/erase/", {"password": "secret-pw"}, content_type="application/json"
    )
    # then what identifies them is gone, and they are told what is kept and why
    assert erased.status_code == 200
    kept = erased.json()["kept"]
    assert any("other party's record" in line for line in kept)
    assert any("tax and accounting law" in line for line in kept)
    assert any("open dispute" in line for line in kept)
    pia = User.objects.get(pk=pia.pk)
    assert (pia.display_name, pia.email, pia.phone_number, pia.is_active) == (
        "Deleted member",
        "",
        "",
        False,
    )
    assert pia.username.startswith("deleted-")
    assert not pia.has_usable_password()
    assert not EmailAddress.objects.filter(user=pia).exists()
    assert not ProviderProfile.objects.filter(user=pia).exists()
    # and the conversation's record is intact, under "Deleted member"
    assert Event.objects.filter(sender=pia, kind="text").count() == 1
    messages = client_of(deal.buyer).get(
        f"/api/conversations/{deal.engagement.conversation_id}/messages/"
    )
    senders = {m["sender"]["name"] for m in messages.json() if m["sender"]}
    assert senders == {"Deleted member"}
    # and every session has ended, in the database and in the cache
    assert client.get("/api/account/export/").status_code in (401, 403)
    sessions = import_module(settings.SESSION_ENGINE).SessionStore()
    assert not sessions.exists(phone.session.session_key)


def test_the_your_data_page_erases_with_the_password(deal: Any) -> None:
    pia = deal.provider
    pia.set_password("secret-pw")
    pia.save()
    client = client_of(pia)
    page = client.get("/account/data/")
    assert page.status_code == 200
    assert "Download my data" in page.content.decode()
    refused = client.post("/account/data/", {"password": "wrong"})
    assert refused.status_code == 400
    assert User.objects.get(pk=pia.pk).is_active
    done = client.post("/account/data/", {"password": "secret-pw"})
    assert done.status_code == 200
    assert "What is kept, and why" in done.content.decode()
    assert "Deleted member" in done.content.decode()
    assert not User.objects.get(pk=pia.pk).is_active
