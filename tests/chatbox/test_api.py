"""The chat's HTTP API against PROTOCOL.md §2: sessions, conversations, message history, and
the error shape of every refusal."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import user_ban
from chatbox import services
from chatbox.canonical import GENESIS_PREV
from chatbox.models import Conversation, Event, Participant
from tests.factories import PASSWORD, conversation_between

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MESSAGE_KEYS = {
    "conversation",
    "seq",
    "kind",
    "sender",
    "body",
    "html",
    "created_at",
    "client_id",
    "hash",
    "prev",
    "redactions",
    "data",
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(
    conversation: Conversation, sender: User, body: str, client_id: uuid.UUID | None = None
) -> Event:
    return services.message_send(
        conversation_id=conversation.pk,
        sender=sender,
        client_id=client_id or uuid.uuid4(),
        body=body,
    )


def login(client: Client, payload: Any) -> Any:
    return client.post("/api/auth/login/", payload, content_type="application/json")


def messages_url(conversation_id: object, query: str = "") -> str:
    return f"/api/conversations/{conversation_id}/messages/" + (f"?{query}" if query else "")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# -- login and logout ------------------------------------------------------------------------


def test_login_returns_the_user_and_sets_the_session_and_csrf_cookies(buyer: User) -> None:
    # given the buyer's credentials
    client = Client(enforce_csrf_checks=True)

    # when they log in
    response = login(client, {"username": "buyer", "password": PASSWORD})

    # then 200 with the user, a session for them, and a csrftoken cookie
    assert response.status_code == 200
    assert response.json() == {
        "id": buyer.pk,
        "username": "buyer",
        "name": "Bea Buyer",
        "is_support": False,
    }
    session_key = response.cookies[settings.SESSION_COOKIE_NAME].value
    session = Session.objects.get(session_key=session_key)
    assert session.get_decoded()[SESSION_KEY] == str(buyer.pk)
    assert response.cookies[settings.CSRF_COOKIE_NAME].value != ""
    assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"] is True


def test_a_logged_in_client_reads_its_conversations(
    buyer: User, conversation: Conversation
) -> None:
    # given a client that logged in
    client = Client()
    login(client, {"username": "buyer", "password": PASSWORD})

    # when it asks who it is and for its conversations
    me = client.get("/api/auth/me/")
    conversations = client.get("/api/conversations/")

    # then both answer for the buyer
    assert me.json() == {
        "id": buyer.pk,
        "username": "buyer",
        "name": "Bea Buyer",
        "is_support": False,
    }
    assert [item["id"] for item in conversations.json()] == [str(conversation.pk)]


def test_a_wrong_password_is_refused_in_the_error_shape(buyer: User) -> None:
    # given a client
    client = Client()

    # when it logs in with a wrong password
    response = login(client, {"username": "buyer", "password": "wrong"})

    # then 400 with invalid_credentials, and no session
    assert response.status_code == 400
    assert response.json() == error_body("invalid_credentials", "Wrong username or password.")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.count() == 0


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(buyer: User) -> None:
    # given a client
    client = Client()

    # when it logs in as nobody
    response = login(client, {"username": "nobody", "password": PASSWORD})

    # then the answer does not tell that the account is missing
    assert response.status_code == 400
    assert response.json() == error_body("invalid_credentials", "Wrong username or password.")


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"username": "buyer"}, {"password": ["This field is required."]}),
        ({"password": PASSWORD}, {"username": ["This field is required."]}),
        (
            {"username": "", "password": ""},
            {
                "username": ["This field may not be blank."],
                "password": ["This field may not be blank."],
            },
        ),
        ({"username": None, "password": PASSWORD}, {"username": ["This field may not be null."]}),
        (
            {"username": "u" * 151, "password": PASSWORD},
            {"username": ["Ensure this field has no more than 150 characters."]},
        ),
        ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
    ids=["empty", "no-password", "no-username", "blank", "null", "too-long", "array"],
)
def test_a_login_with_missing_or_bad_fields_is_400_naming_them(
    buyer: User, payload: Any, fields: dict[str, Any]
) -> None:
    # given a client
    client = Client()

    # when it logs in with a malformed body
    response = login(client, payload)

    # then 400 in the error shape, naming the fields, and no session
    assert response.status_code == 400
    assert response.json() == error_body("invalid", "The request is not valid.", fields)
    assert Session.objects.count() == 0


def test_a_login_that_is_not_json_is_400_in_the_error_shape(buyer: User) -> None:
    # given a client
    client = Client()

    # when it posts broken JSON
    response = client.post("/api/auth/login/", "{username", content_type="application/json")

    # then 400 in the error shape
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "parse_error"
    assert body["error"]["fields"] == {}
    assert body["error"]["message"].startswith("JSON parse error")


def test_a_banned_user_cannot_log_in(buyer: User) -> None:
    # given a banned buyer
    user_ban(user=buyer)
    client = Client()

    # when they log in with the right password
    response = login(client, {"username": "buyer", "password": PASSWORD})

    # then 403 banned, and no session
    assert response.status_code == 403
    assert response.json() == error_body("banned", "This account is banned.")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.count() == 0


def test_logout_ends_the_session(buyer: User, conversation: Conversation) -> None:
    # given a signed-in buyer
    client = Client(enforce_csrf_checks=True)
    login(client, {"username": "buyer", "password": PASSWORD})
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    # when they log out
    response = client.post(
        "/api/auth/logout/", content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    # then 204, the session is gone, and the API no longer knows them
    assert response.status_code == 204
    assert Session.objects.count() == 0
    assert client.get("/api/conversations/").status_code == 401


def test_logout_without_a_session_is_401(db: None) -> None:
    # given an anonymous client
    client = Client()

    # when it logs out
    response = client.post("/api/auth/logout/", content_type="application/json")

    # then 401 in the error shape
    assert response.status_code == 401
    assert response.json() == error_body(
        "not_authenticated", "Authentication credentials were not provided."
    )


def test_a_post_with_a_session_but_without_the_csrf_token_is_refused(
    buyer: User, conversation: Conversation
) -> None:
    # given a signed-in buyer whose browser enforces nothing for a forged form
    client = Client(enforce_csrf_checks=True)
    login(client, {"username": "buyer", "password": PASSWORD})

    # when a POST arrives with the session cookie but no X-CSRFToken
    response = client.post("/api/auth/logout/", content_type="application/json")

    # then 403 in the error shape, and the session lives on
    assert response.status_code == 403
    assert response.json() == error_body("permission_denied", "CSRF Failed: CSRF token missing.")
    assert Session.objects.count() == 1
    assert client.get("/api/conversations/").status_code == 200


def test_a_post_with_a_wrong_csrf_token_is_refused(buyer: User) -> None:
    # given a signed-in buyer
    client = Client(enforce_csrf_checks=True)
    login(client, {"username": "buyer", "password": PASSWORD})

    # when a POST carries a token of another session
    response = client.post(
        "/api/auth/logout/", content_type="application/json", HTTP_X_CSRFTOKEN="x" * 32
    )

    # then 403, and the session lives on
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Session.objects.count() == 1


# -- conversations ---------------------------------------------------------------------------


def test_conversations_list_the_users_conversations_with_unread_and_last_activity(
    buyer: User, provider: User, conversation: Conversation
) -> None:
    # given two messages from the provider and one from the buyer
    send(conversation, provider, "Hello")
    send(conversation, provider, "Here is the quote")
    last = send(conversation, buyer, "Thanks")

    # when the buyer lists their conversations
    response = signed_in(buyer).get("/api/conversations/")

    # then one conversation, two unread (one's own messages never are), active when 4 was sent
    assert response.status_code == 200
    [item] = response.json()
    assert datetime.fromisoformat(item.pop("last_activity")) == last.created_at
    assert item == {
        "id": str(conversation.pk),
        "title": "Logo design",
        "participants": [
            {"id": buyer.pk, "name": "Bea Buyer", "role": "buyer", "last_read_seq": 4},
            {"id": provider.pk, "name": "Pat Provider", "role": "provider", "last_read_seq": 3},
        ],
        "unread": 0,
        "head": 4,
    }


def test_unread_counts_what_others_said_after_the_read_mark(
    buyer: User, provider: User, conversation: Conversation
) -> None:
    # given three messages from the provider, of which the buyer read through the first
    for body in ("one", "two", "three"):
        send(conversation, provider, body)
    services.read_mark(conversation_id=conversation.pk, user=buyer, seq=2)

    # when each party lists their conversations
    buyer_view = signed_in(buyer).get("/api/conversations/").json()
    provider_view = signed_in(provider).get("/api/conversations/").json()

    # then the buyer has two unread and the provider none
    assert [item["unread"] for item in buyer_view] == [2]
    assert [item["unread"] for item in provider_view] == [0]


def test_conversations_come_most_recently_active_first(buyer: User, provider: User) -> None:
    # given two conversations, the older one written in last
    older = conversation_between(buyer, provider, title="Older")
    newer = conversation_between(buyer, provider, title="Newer")
    send(older, provider, "Bump")

    # when the buyer lists them
    response = signed_in(buyer).get("/api/conversations/")

    # then the one with the latest event comes first
    assert [item["title"] for item in response.json()] == ["Older", "Newer"]
    assert [item["id"] for item in response.json()] == [str(older.pk), str(newer.pk)]


def test_someone_in_no_conversation_sees_none(outsider: User, conversation: Conversation) -> None:
    # given a conversation between two other people
    # when the outsider lists their conversations
    response = signed_in(outsider).get("/api/conversations/")

    # then the list is empty
    assert response.status_code == 200
    assert response.json() == []


def test_conversations_need_a_session(conversation: Conversation) -> None:
    # given an anonymous client
    # when it lists conversations
    response = Client().get("/api/conversations/")

    # then 401 in the error shape
    assert response.status_code == 401
    assert response.json() == error_body(
        "not_authenticated", "Authentication credentials were not provided."
    )


# -- messages --------------------------------------------------------------------------------


@pytest.fixture
def long_conversation(buyer: User, provider: User, conversation: Conversation) -> Conversation:
    """61 events: the opening one, then messages "message 2" … "message 61"."""
    for seq in range(2, 62):
        send(conversation, provider if seq % 2 else buyer, f"message {seq}")
    return conversation


def seqs(response: Any) -> list[int]:
    return [message["seq"] for message in response.json()]


def test_messages_without_a_cursor_are_the_latest_50_oldest_first(
    buyer: User, long_conversation: Conversation
) -> None:
    # given 61 events
    # when the buyer reads the messages without a cursor
    response = signed_in(buyer).get(messages_url(long_conversation.pk))

    # then the latest 50, oldest first
    assert response.status_code == 200
    assert seqs(response) == list(range(12, 62))
    assert response.json()[-1]["body"] == "message 61"


def test_messages_before_a_seq_page_backwards(buyer: User, long_conversation: Conversation) -> None:
    # given 61 events
    # when the buyer asks for 5 before 20
    response = signed_in(buyer).get(messages_url(long_conversation.pk, "before=20&limit=5"))

    # then 15..19, oldest first
    assert response.status_code == 200
    assert seqs(response) == [15, 16, 17, 18, 19]


def test_messages_before_near_the_start_return_what_there_is(
    buyer: User, long_conversation: Conversation
) -> None:
    # given 61 events
    # when the buyer asks for 50 before 4
    response = signed_in(buyer).get(messages_url(long_conversation.pk, "before=4"))

    # then 1..3
    assert seqs(response) == [1, 2, 3]


def test_messages_after_a_seq_page_forwards(buyer: User, long_conversation: Conversation) -> None:
    # given 61 events
    # when the buyer asks for 3 after 10, and everything after 58
    first = signed_in(buyer).get(messages_url(long_conversation.pk, "after=10&limit=3"))
    rest = signed_in(buyer).get(messages_url(long_conversation.pk, "after=58"))

    # then 11..13, and 59..61
    assert seqs(first) == [11, 12, 13]
    assert seqs(rest) == [59, 60, 61]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("before=" + "9" * 30, list(range(12, 62))),
        ("after=" + "9" * 30, []),
        ("limit=", list(range(12, 62))),
    ],
)
def test_cursors_out_of_any_range_are_harmless(
    buyer: User, long_conversation: Conversation, query: str, expected: list[int]
) -> None:
    # given 61 events
    # when the buyer pages from a cursor past every seq, or leaves the limit empty
    response = signed_in(buyer).get(messages_url(long_conversation.pk, query))

    # then the answer is what the cursor means: everything before, nothing after, the default
    assert response.status_code == 200
    assert seqs(response) == expected


def test_messages_after_the_head_are_empty(buyer: User, long_conversation: Conversation) -> None:
    # given 61 events
    # when the buyer asks for what follows 61
    response = signed_in(buyer).get(messages_url(long_conversation.pk, "after=61"))

    # then nothing
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=3", [59, 60, 61]),
        ("limit=1", [61]),
        ("limit=200", list(range(1, 62))),
        ("after=0&limit=200", list(range(1, 62))),
    ],
)
def test_limit_caps_the_page(
    buyer: User, long_conversation: Conversation, query: str, expected: list[int]
) -> None:
    # given 61 events
    # when the buyer pages with a limit
    response = signed_in(buyer).get(messages_url(long_conversation.pk, query))

    # then at most that many, oldest first
    assert seqs(response) == expected


def test_a_message_has_exactly_the_protocol_shape(
    buyer: User, provider: User, conversation: Conversation
) -> None:
    # given a message of the provider with markup in it
    client_id = uuid.uuid4()
    event = send(conversation, provider, "See <b>this</b> & https://example.com", client_id)
    opening = Event.objects.get(conversation=conversation, seq=1)

    # when the buyer reads the messages
    response = signed_in(buyer).get(messages_url(conversation.pk))

    # then every key of PROTOCOL.md §3, with the stored values
    system, message = response.json()
    assert set(message) == MESSAGE_KEYS
    assert message == {
        "conversation": str(conversation.pk),
        "seq": 2,
        "kind": "text",
        "sender": {"id": provider.pk, "name": "Pat Provider"},
        "body": "See <b>this</b> & https://example.com",
        "html": 'See &lt;b&gt;this&lt;/b&gt; &amp; <a href="https://example.com" '
        'rel="nofollow noopener noreferrer" target="_blank">https://example.com</a>',
        "created_at": message["created_at"],
        "client_id": str(client_id),
        "hash": event.hash,
        "prev": opening.hash,
        "redactions": [],
        "data": {},
    }
    assert RFC3339.match(message["created_at"])
    assert datetime.fromisoformat(message["created_at"]) == event.created_at
    assert HEX64.match(message["hash"])
    assert system == {
        "conversation": str(conversation.pk),
        "seq": 1,
        "kind": "system",
        "sender": None,
        "body": "Conversation opened.",
        "html": "Conversation opened.",
        "created_at": system["created_at"],
        "client_id": None,
        "hash": opening.hash,
        "prev": GENESIS_PREV,
        "redactions": [],
        "data": {"event": "opened"},
    }


def test_edited_and_deleted_messages_show_their_current_state(
    buyer: User, provider: User, conversation: Conversation
) -> None:
    # given message 2 edited by 4 and message 3 deleted by 5
    send(conversation, provider, "Price: 400")
    send(conversation, provider, "My phone is 555")
    edit = services.message_edit(
        conversation_id=conversation.pk,
        editor=provider,
        client_id=uuid.uuid4(),
        seq=2,
        body="Price: 450",
    )
    services.message_delete(
        conversation_id=conversation.pk, by=provider, client_id=uuid.uuid4(), seq=3
    )

    # when the buyer reads the messages
    messages = signed_in(buyer).get(messages_url(conversation.pk)).json()

    # then 2 shows the new text, 3 shows nothing, and the edit and delete events name them
    shown = [(m["seq"], m["kind"], m["body"], m["data"]) for m in messages]
    assert shown == [
        (1, "system", "Conversation opened.", {"event": "opened"}),
        (
            2,
            "text",
            "Price: 450",
            {"edited": True, "edited_at": messages[3]["created_at"], "edit_seq": 4},
        ),
        (3, "text", "", {"deleted": True}),
        (4, "edit", "Price: 450", {"target": 2}),
        (5, "delete", "", {"target": 3}),
    ]
    assert datetime.fromisoformat(messages[3]["created_at"]) == edit.created_at


def test_messages_of_a_foreign_conversation_are_404_like_a_missing_one(
    outsider: User, conversation: Conversation
) -> None:
    # given a conversation the outsider is not in
    client = signed_in(outsider)

    # when they ask for its messages, and for those of a conversation that does not exist
    foreign = client.get(messages_url(conversation.pk))
    missing = client.get(messages_url(uuid.uuid4()))

    # then both are the same 404: nothing tells that the first one exists
    assert foreign.status_code == 404
    assert missing.status_code == 404
    assert foreign.json() == missing.json() == error_body("not_found", "No such conversation.")


@pytest.mark.parametrize(
    "conversation_id", ["garbage", "12", "00000000-0000-0000-0000-00000000000g"]
)
def test_messages_of_a_malformed_conversation_id_are_404(buyer: User, conversation_id: str) -> None:
    # given a signed-in buyer
    # when they ask for the messages of an id that is no UUID
    response = signed_in(buyer).get(messages_url(conversation_id))

    # then 404 in the error shape
    assert response.status_code == 404
    assert response.json() == error_body("not_found", "No such conversation.")


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("before=abc", {"before": ["A valid integer is required."]}),
        ("after=1.5", {"after": ["A valid integer is required."]}),
        ("before=0", {"before": ["Ensure this value is greater than or equal to 1."]}),
        ("after=-1", {"after": ["Ensure this value is greater than or equal to 0."]}),
        ("limit=0", {"limit": ["Ensure this value is greater than or equal to 1."]}),
        ("limit=1000", {"limit": ["Ensure this value is less than or equal to 200."]}),
        ("before=10&after=2", {"non_field_errors": ["Give 'before' or 'after', not both."]}),
    ],
)
def test_bad_cursor_values_are_400_naming_the_parameter(
    buyer: User, conversation: Conversation, query: str, fields: dict[str, Any]
) -> None:
    # given a signed-in buyer
    # when they page with a bad cursor
    response = signed_in(buyer).get(messages_url(conversation.pk, query))

    # then 400 in the error shape, naming the parameter
    assert response.status_code == 400
    assert response.json() == error_body("invalid", "The request is not valid.", fields)


def test_messages_need_a_session(conversation: Conversation) -> None:
    # given an anonymous client
    # when it asks for messages
    response = Client().get(messages_url(conversation.pk))

    # then 401 in the error shape
    assert response.status_code == 401
    assert response.json() == error_body(
        "not_authenticated", "Authentication credentials were not provided."
    )


def test_a_banned_users_open_session_no_longer_reads(
    buyer: User, conversation: Conversation
) -> None:
    # given a buyer with a session, then banned
    client = signed_in(buyer)
    user_ban(user=buyer)

    # when the session asks for conversations and messages
    conversations = client.get("/api/conversations/")
    messages = client.get(messages_url(conversation.pk))

    # then the first is refused as banned, and the session has ended: the next is anonymous
    assert conversations.status_code == 403
    assert conversations.json()["error"]["code"] == "banned"
    assert messages.status_code == 401


# -- the rest of /api/ -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/conversations/x/y/z/"])
def test_an_unknown_api_url_is_404_in_the_error_shape(buyer: User, path: str) -> None:
    # given a signed-in buyer
    # when they call a URL the API does not have
    response = signed_in(buyer).get(path)

    # then 404 in the error shape, as JSON
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == error_body("not_found", "No such endpoint.")


def test_a_wrong_method_is_405_in_the_error_shape(buyer: User) -> None:
    # given a signed-in buyer
    # when they GET the login endpoint
    response = signed_in(buyer).get("/api/auth/login/")

    # then 405 in the error shape
    assert response.status_code == 405
    assert response.json() == error_body("method_not_allowed", 'Method "GET" not allowed.')


def test_the_schema_is_an_openapi_document_naming_the_paths(db: None) -> None:
    # given an anonymous client
    # when it fetches the schema as JSON
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    # then an OpenAPI 3 document with the chat's paths
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Chatbox API"
    assert {
        "/api/auth/login/",
        "/api/auth/logout/",
        "/api/auth/me/",
        "/api/conversations/",
        "/api/conversations/{conversation_id}/messages/",
    } <= set(schema["paths"])
    parameters = schema["paths"]["/api/conversations/{conversation_id}/messages/"]["get"][
        "parameters"
    ]
    assert {"before", "after", "limit", "conversation_id"} <= {p["name"] for p in parameters}


def test_membership_is_checked_per_conversation(
    buyer: User, provider: User, outsider: User, conversation: Conversation
) -> None:
    # given the outsider in a conversation of their own with the provider
    own = conversation_between(outsider, provider, title="Other job")
    send(own, outsider, "Hi")

    # when the outsider reads their own conversation and the buyer's
    client = signed_in(outsider)
    mine = client.get(messages_url(own.pk))
    theirs = client.get(messages_url(conversation.pk))

    # then only their own answers
    assert seqs(mine) == [1, 2]
    assert theirs.status_code == 404
    assert Participant.objects.filter(user=outsider, conversation=conversation).exists() is False


def test_a_closed_conversation_is_still_listed(buyer: User, conversation: Conversation) -> None:
    # given a closed conversation
    Conversation.objects.filter(pk=conversation.pk).update(closed_at=timezone.now())

    # when the buyer lists their conversations
    response = signed_in(buyer).get("/api/conversations/")

    # then it is still listed: the record stays readable
    assert [item["id"] for item in response.json()] == [str(conversation.pk)]
