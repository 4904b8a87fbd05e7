"""Account actions (PROTOCOL.md §6 ``POST /api/users/{id}/actions/``): warning, suspension,
ban — with a reason, audited, enforced at once on the web, the API and open sockets; shown to
the member; one appeal each."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox.models import Conversation, Event
from projects.models import Project
from reports.models import AccountAction, Appeal
from tests.chatbox.conftest import buyer, conversation, provider  # noqa: F401
from tests.chatbox.test_consumer import Sockets, send_text, sockets  # noqa: F401
from tests.factories import UserFactory
from tests.invoices.money import staff_member
from tests.invoices.snapshot import buyer_of, client_of, contract_of, provider_of

TIMEOUT = 5


def act(client: Client, user: User, **body: Any) -> Any:
    return client.post(f"/api/users/{user.pk}/actions/", body, content_type="application/json")


def later(**delta: int) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


@pytest.fixture
def staff(db: None) -> tuple[User, Client]:
    return staff_member()


# -- the endpoint -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "standing"),
    [
        ({"action": "warning", "reason": "Shared a phone number."}, "active"),
        ({"action": "suspension", "reason": "Harassment.", "until": "+7d"}, "suspended"),
        ({"action": "ban", "reason": "Fraud."}, "banned"),
    ],
)
def test_support_takes_an_action_with_a_reason_and_it_is_recorded(
    staff: tuple[User, Client], body: dict[str, Any], standing: str
) -> None:
    # given a member
    sam, client = staff
    pat = UserFactory(username="pat")
    if body.get("until") == "+7d":
        body = {**body, "until": later(days=7)}
    # when support takes the action
    response = act(client, pat, **body)
    # then it is recorded with who, why and when, and the member's standing follows
    assert response.status_code == 201, response.json()
    payload = response.json()
    assert (payload["action"], payload["reason"], payload["user"]) == (
        body["action"],
        body["reason"],
        pat.pk,
    )
    action = AccountAction.objects.get()
    assert (action.by, action.kind, action.reason) == (sam, body["action"], body["reason"])
    pat.refresh_from_db()
    assert pat.standing == standing


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "scold", "reason": "x"}, "action"),
        ({"action": "warning", "reason": ""}, "reason"),
        ({"action": "warning"}, "reason"),
        ({"action": "suspension", "reason": "x"}, "until"),
        ({"action": "suspension", "reason": "x", "until": "tomorrow"}, "until"),
        ({"action": "suspension", "reason": "x", "until": "2020-01-01T00:00:00Z"}, "until"),
        ({"action": "suspension", "reason": "x", "until": "2099-01-01T00:00:00"}, "until"),
        ({"action": "ban", "reason": "x", "until": "2099-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_actions_are_400_and_change_nothing(
    staff: tuple[User, Client], body: dict[str, Any], field: str
) -> None:
    _, client = staff
    pat = UserFactory(username="pat")
    response = act(client, pat, **body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]
    assert not AccountAction.objects.exists()
    pat.refresh_from_db()
    assert pat.standing == "active"


@pytest.mark.django_db
def test_only_staff_with_mfa_take_actions(staff: tuple[User, Client]) -> None:
    pat, bea = UserFactory(username="pat"), UserFactory(username="bea")
    _, no_mfa = staff_member("nomfa", mfa=False)
    body = {"action": "ban", "reason": "x"}
    assert act(client_of(bea), pat, **body).status_code == 403
    assert act(Client(), pat, **body).status_code in (401, 403)
    refused = act(no_mfa, pat, **body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "mfa_required")
    # staff are not members to act on; a missing member is 404
    _, client = staff
    assert act(client, staff_member("other")[0], **body).status_code == 403
    missing = client.post("/api/users/999999/actions/", body, content_type="application/json")
    assert missing.status_code == 404
    assert not AccountAction.objects.exists()
    pat.refresh_from_db()
    assert pat.standing == "active"


# -- enforced at once -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_suspended_member_reads_but_cannot_bid_post_or_invoice_over_http(
    staff: tuple[User, Client], taxonomy: None
) -> None:
    # given a contract between a buyer and a provider
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    _, client = staff
    # when support suspends both for a week
    for member in (contract.buyer, contract.provider):
        suspended = act(client, member, action="suspension", reason="x", until=later(days=7))
        assert suspended.status_code == 201
    # then the buyer cannot post a project, nor the provider invoice; reading still works
    projects = Project.objects.count()
    posted = client_of(contract.buyer).post(
        "/api/projects/",
        {
            "title": "Logo",
            "description": "A logo",
            "category": "design",
            "skills": ["logo-design"],
            "budget": {"amount": 1000, "currency": "EUR", "kind": "fixed"},
        },
        content_type="application/json",
    )
    assert posted.status_code == 403
    assert posted.json()["error"]["code"] == "suspended"
    assert "read but not post" in posted.json()["error"]["message"]
    assert Project.objects.count() == projects
    invoiced = client_of(contract.provider).post(
        f"/api/conversations/{contract.engagement.conversation_id}/invoices/",
        {"contract": contract.pk, "currency": "EUR", "items": [{"description": "x", "amount": 1}]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert (invoiced.status_code, invoiced.json()["error"]["code"]) == (403, "suspended")
    assert client_of(contract.provider).get("/api/conversations/").status_code == 200


@database_sync_to_async
def _take(client: Client, user: User, **body: Any) -> int:
    return act(client, user, **body).status_code


async def _answer_to(socket: WebsocketCommunicator, client_id: str) -> dict[str, Any]:
    """The ``ack`` or ``error`` that answers the send of ``client_id``."""
    while True:
        frame = json.loads(await socket.receive_from(timeout=TIMEOUT))
        if frame.get("client_id", frame.get("ref")) == client_id and frame["type"] != "message":
            return frame


@database_sync_to_async
def _texts(chat: Conversation) -> int:
    return Event.objects.filter(conversation=chat, kind="text").count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["warning", "suspension", "ban"])
async def test_each_action_is_enforced_at_once_on_open_sockets(
    sockets: Sockets,  # noqa: F811
    provider: User,  # noqa: F811
    conversation: Conversation,  # noqa: F811
    action: str,
) -> None:
    # given the provider with an open socket, subscribed
    _, client = await sync_to_async(staff_member)()
    socket = await sockets.subscribed(provider, conversation)
    # when support takes the action through the API
    body: dict[str, Any] = {"action": action, "reason": "Shared contact details."}
    if action == "suspension":
        body["until"] = later(days=1)
    assert await _take(client, provider, **body) == 201
    # then: a warning leaves the socket writing; a suspension refuses the next send and keeps
    # the socket; a ban closes it with 4403
    if action == "ban":
        assert await socket.receive_output(timeout=TIMEOUT) == {
            "type": "websocket.close",
            "code": 4403,
        }
        assert await _texts(conversation) == 0
        return
    client_id = await send_text(socket, conversation, "hello")
    # (the answer comes once the send's batch is stored; a pong may overtake it)
    answer = await _answer_to(socket, client_id)
    if action == "warning":
        assert answer["type"] == "ack"
        assert await _texts(conversation) == 1
    else:
        assert (answer["type"], answer["code"]) == ("error", "suspended")
        assert await _texts(conversation) == 0


# -- shown to the member, and one appeal each -------------------------------------------------


@pytest.mark.django_db
def test_the_member_sees_the_action_with_its_reason_and_appeals_once(
    staff: tuple[User, Client],
) -> None:
    # given a warned member
    _, client = staff
    pat = UserFactory(username="pat")
    assert act(client, pat, action="warning", reason="Shared a phone number.").status_code == 201
    member = client_of(pat)
    # when they look at their account's actions
    [shown] = member.get("/api/account/actions/").json()
    # then they see it with the reason, and no one else's
    assert (shown["action"], shown["reason"], shown["appeal"]) == (
        "warning",
        "Shared a phone number.",
        None,
    )
    assert client_of(UserFactory(username="bea")).get("/api/account/actions/").json() == []
    # when they appeal twice
    url = f"/api/account/actions/{shown['id']}/appeal/"
    first = member.post(url, {"text": "It was my office line."}, content_type="application/json")
    second = member.post(url, {"text": "Again."}, content_type="application/json")
    # then the first is taken and the second refused
    assert first.status_code == 201
    assert (second.status_code, second.json()["error"]["code"]) == (409, "appeal_made")
    assert list(Appeal.objects.values_list("text", flat=True)) == ["It was my office line."]
    # and someone else cannot appeal it
    other = client_of(UserFactory(username="oz")).post(
        url, {"text": "x"}, content_type="application/json"
    )
    assert other.status_code == 404


@pytest.mark.django_db
def test_an_overturned_appeal_lifts_a_suspension(staff: tuple[User, Client]) -> None:
    # given a suspended member who appealed
    _, client = staff
    pat = UserFactory(username="pat")
    action = act(client, pat, action="suspension", reason="x", until=later(days=3)).json()
    appeal = (
        client_of(pat)
        .post(
            f"/api/account/actions/{action['id']}/appeal/",
            {"text": "A mistake."},
            content_type="application/json",
        )
        .json()
    )
    # when support overturns it, then tries to decide it again
    url = f"/api/staff/appeals/{appeal['id']}/decision/"
    decided = client.post(
        url, {"overturn": True, "answer": "Agreed."}, content_type="application/json"
    )
    again = client.post(url, {"overturn": False, "answer": "No."}, content_type="application/json")
    # then the suspension is lifted, once
    assert decided.status_code == 200
    assert decided.json()["state"] == "overturned"
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_decided")
    pat.refresh_from_db()
    assert pat.standing == "active"
    assert AccountAction.objects.get().lifted_at is not None
