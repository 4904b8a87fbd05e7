"""Phone verification by a one-time code: works once, expires, wrong codes are refused."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import PhoneVerification, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _send(client: Client, phone: str) -> tuple[int, dict]:
    response = client.post("/api/account/phone/", {"phone": phone}, content_type="application/json")
    return response.status_code, response.json()


def _verify(client: Client, code: str) -> tuple[int, dict]:
    response = client.post(
        "/api/account/phone/verify/", {"code": code}, content_type="application/json"
    )
    return response.status_code, response.json()


def _code(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def test_a_code_verifies_the_phone_once(
    client: Client, sms_outbox: list[tuple[str, str]], django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory(username="pat")
    client.force_login(user)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = _send(client, "+44 20 7946 0958")
    # then: the number is normalised, the SMS holds the code, only its hash is stored
    assert sent == (202, {"phone_number": "+442079460958"})
    assert [to for to, _ in sms_outbox] == ["+442079460958"]
    code = _code(sms_outbox[0][1])
    assert code not in PhoneVerification.objects.get(user=user).code_hash
    # when
    status, account = _verify(client, code)
    # then
    assert status == 200
    assert account["verification"]["phone_verified"] is True
    assert account["phone_number"] == "+442079460958"
    user.refresh_from_db()
    assert user.phone_number == "+442079460958"
    assert user.phone_verified_at is not None
    # when: the same code again
    verified_at = user.phone_verified_at
    again = _verify(client, code)
    # then: refused, nothing changed
    assert again[0] == 400
    assert again[1]["error"]["code"] == "code_invalid"
    user.refresh_from_db()
    assert user.phone_verified_at == verified_at


def test_an_expired_code_is_refused_and_changes_nothing(
    client: Client, sms_outbox: list[tuple[str, str]], django_capture_on_commit_callbacks
) -> None:
    # given: a code sent eleven minutes ago
    user = UserFactory(username="pat")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        _send(client, "+14155550123")
    verification = PhoneVerification.objects.get(user=user)
    verification.created_at -= timedelta(minutes=11)
    verification.save(update_fields=["created_at"])
    # when
    status, body = _verify(client, _code(sms_outbox[0][1]))
    # then
    assert status == 400
    assert body["error"]["code"] == "code_expired"
    user.refresh_from_db()
    assert (user.phone_number, user.phone_verified_at) == ("", None)


def test_a_wrong_code_is_refused_and_attempts_are_limited(
    client: Client, sms_outbox: list[tuple[str, str]], django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory(username="pat")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        _send(client, "+14155550123")
    code = _code(sms_outbox[0][1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    # when: five wrong codes, then the right one
    refusals = [_verify(client, wrong) for _ in range(5)]
    last = _verify(client, code)
    # then
    assert [(status, body["error"]["code"]) for status, body in refusals] == [
        (400, "code_invalid")
    ] * 5
    assert last[0] == 400
    assert last[1]["error"]["message"] == "Too many wrong codes: ask for a new one."
    user.refresh_from_db()
    assert (user.phone_number, user.phone_verified_at) == ("", None)


@pytest.mark.parametrize("phone", ["12345", "+1 000", "call me", "+999 1234 5678", ""])
def test_a_malformed_phone_is_a_400_and_stores_nothing(
    client: Client, sms_outbox: list[tuple[str, str]], phone: str
) -> None:
    # given
    client.force_login(UserFactory(username="pat"))
    # when
    status, body = _send(client, phone)
    # then
    assert status == 400
    assert body["error"]["code"] == "invalid"
    assert list(body["error"]["fields"]) == ["phone"]
    assert PhoneVerification.objects.count() == 0
    assert sms_outbox == []


def test_a_malformed_code_is_a_400(client: Client) -> None:
    client.force_login(UserFactory(username="pat"))
    status, body = _verify(client, "12ab")
    assert status == 400
    assert list(body["error"]["fields"]) == ["code"]


def test_the_console_backend_logs_the_sms_and_nothing_else_holds_the_code(
    client: Client, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory(username="pat")
    client.force_login(user)
    # when
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        _send(client, "+14155550123")
    # then
    sms_lines = [r.getMessage() for r in caplog.records if r.name == "accounts.sms"]
    assert len(sms_lines) == 1
    assert sms_lines[0].startswith("SMS to +14155550123: Your Chatbox code is ")
    code = _code(sms_lines[0])
    others = [r.getMessage() for r in caplog.records if r.name != "accounts.sms"]
    assert not any(code in line for line in others)


def test_the_phone_page_sends_and_verifies_a_code(
    client: Client, sms_outbox: list[tuple[str, str]], django_capture_on_commit_callbacks
) -> None:
    # given
    user = UserFactory(username="pat")
    client.force_login(user)
    page = client.get("/account/phone/").content.decode()
    assert '<label class="field__label" for="id_phone">Phone number</label>' in page
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/account/phone/", {"phone": "+14155550123"})
    verified = client.post("/account/phone/", {"code": _code(sms_outbox[0][1])})
    # then
    assert (sent.status_code, verified.status_code) == (302, 302)
    assert User.objects.get(pk=user.pk).phone_verified is True
    assert "is verified" in client.get("/account/phone/").content.decode()
