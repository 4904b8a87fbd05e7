"""E-mail verification and TOTP setup over the API, through allauth's own keys and allauth.mfa."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from tests.accounts.totp import current_code, wrong_code
from tests.factories import PASSWORD, UserFactory
from tests.services import cache_clear_own

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def _key(message: Any) -> str:
    found = re.search(r"https?://testserver/account/confirm-email/([^\s/]+)/", message.body)
    assert found, message.body
    return found.group(1)


def _sign_up(client: Client) -> User:
    response = client.post(
        "/api/auth/signup/",
        {
            "username": "newpro",
            "email": "pro@example.com",
            "password": PASSWORD,
            "name": "Pia Pro",
            "roles": ["provider"],
            "accept_terms": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    return User.objects.get(username="newpro")


def _verify(client: Client, key: str) -> Any:
    return client.post("/api/account/email/verify/", {"key": key}, content_type="application/json")


def _totp_kinds(user: User) -> list[str]:
    return sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))


# --- e-mail verification ----------------------------------------------------------------------


def test_the_key_from_the_emailed_link_verifies_the_address_without_signing_in(
    client: Client, mailoutbox: list[Any]
) -> None:
    # given
    user = _sign_up(client)
    key = _key(mailoutbox[0])
    # when
    response = _verify(client, key)
    # then
    assert response.status_code == 200
    assert response.json() == {"email": "pro@example.com", "verified": True}
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified")) == [
        ("pro@example.com", True)
    ]
    assert User.objects.get(pk=user.pk).email_verified is True
    assert client.get("/api/auth/me/").status_code == 401


def test_a_used_key_is_refused(client: Client, mailoutbox: list[Any]) -> None:
    # given
    user = _sign_up(client)
    key = _key(mailoutbox[0])
    assert _verify(client, key).status_code == 200
    # when
    again = _verify(client, key)
    # then
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "email_key_invalid"
    assert list(EmailAddress.objects.filter(user=user).values_list("verified", flat=True)) == [True]


@pytest.mark.parametrize("key", ["not-a-key", "MQ:1tQqJj:forged-signature"])
def test_an_unknown_key_is_refused_and_changes_nothing(
    client: Client, mailoutbox: list[Any], key: str
) -> None:
    # given
    user = _sign_up(client)
    # when
    response = _verify(client, key)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_key_invalid"
    assert list(EmailAddress.objects.filter(user=user).values_list("verified", flat=True)) == [
        False
    ]


def test_an_expired_key_is_refused_and_changes_nothing(
    client: Client, mailoutbox: list[Any], settings: SettingsWrapper
) -> None:
    # given: a key issued, then a validity of zero days
    user = _sign_up(client)
    key = _key(mailoutbox[0])
    settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 0
    time.sleep(0.01)
    # when
    response = _verify(client, key)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_key_invalid"
    assert User.objects.get(pk=user.pk).email_verified is False


def _cooldown_passes() -> None:
    """allauth keeps its resend cooldown in the cache; forgetting it is the cooldown passing."""
    cache_clear_own()


def test_sign_up_starts_the_resend_cooldown(client: Client, mailoutbox: list[Any]) -> None:
    # given: signed up over the API, and signed in (as a client holding a session would be)
    client.force_login(_sign_up(client))
    # when a resend follows at once
    response = client.post("/api/account/email/resend/")
    # then it waits for the cooldown, as after a sign-up on the web
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert len(mailoutbox) == 1


def test_resend_sends_one_more_email_whose_key_works(client: Client, mailoutbox: list[Any]) -> None:
    # given: signed up and signed in, and the cooldown has passed
    user = _sign_up(client)
    client.force_login(user)
    _cooldown_passes()
    # when
    response = client.post("/api/account/email/resend/")
    # then
    assert response.status_code == 202
    assert response.json() == {"email": "pro@example.com"}
    assert [m.to for m in mailoutbox] == [["pro@example.com"], ["pro@example.com"]]
    client.logout()
    assert _verify(client, _key(mailoutbox[1])).status_code == 200
    assert User.objects.get(pk=user.pk).email_verified is True


def test_resend_keeps_allauths_rate_limit(client: Client, mailoutbox: list[Any]) -> None:
    # given: one resend already went out
    client.force_login(_sign_up(client))
    _cooldown_passes()
    assert client.post("/api/account/email/resend/").status_code == 202
    # when
    again = client.post("/api/account/email/resend/")
    # then
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "rate_limited"
    assert len(mailoutbox) == 2


def test_resend_for_a_verified_address_is_refused(client: Client, mailoutbox: list[Any]) -> None:
    # given
    user = UserFactory(username="bea", email="bea@example.com")
    EmailAddress.objects.create(user=user, email="bea@example.com", verified=True, primary=True)
    client.force_login(user)
    # when
    response = client.post("/api/account/email/resend/")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_already_verified"
    assert mailoutbox == []


def test_resend_for_an_account_without_an_address_row_is_refused(
    client: Client, mailoutbox: list[Any]
) -> None:
    # given: a factory user, not held back by verification
    user = UserFactory(username="bea", email="bea@example.com")
    client.force_login(user)
    # when
    response = client.post("/api/account/email/resend/")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_not_pending"
    assert mailoutbox == []
    assert EmailAddress.objects.filter(user=user).count() == 0


def test_resend_needs_a_signed_in_user(client: Client, mailoutbox: list[Any]) -> None:
    response = client.post("/api/account/email/resend/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert mailoutbox == []


# --- TOTP -------------------------------------------------------------------------------------


def test_totp_setup_with_a_code_from_the_returned_secret_turns_mfa_on(client: Client) -> None:
    # given
    user = UserFactory(username="bea")
    client.force_login(user)
    # when
    setup = client.post("/api/account/mfa/totp/")
    # then
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    assert setup.json() == {
        "secret": secret,
        "otpauth_url": f"otpauth://totp/bea?secret={secret}&issuer=Chatbox",
    }
    # when
    activated = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert activated.status_code == 201
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    assert activated.json() == {"recovery_codes": RecoveryCodes(recovery).get_unused_codes()}
    assert len(activated.json()["recovery_codes"]) == app_settings.RECOVERY_CODE_COUNT
    assert _totp_kinds(user) == ["recovery_codes", "totp"]
    assert client.get("/api/account/").json()["mfa_enabled"] is True


def test_a_wrong_password_activates_nothing(client: Client) -> None:
    # given a pending setup, as a stolen session could start one
    user = UserFactory(username="bea")
    client.force_login(user)
    secret = client.post("/api/account/mfa/totp/").json()["secret"]
    # when it is activated with a right code but without the account's password
    activated = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(secret), "password": "not the password"},
        content_type="application/json",
    )
    # then
    assert activated.status_code == 400
    assert activated.json()["error"]["code"] == "password_invalid"
    assert _totp_kinds(user) == []


def test_a_wrong_code_activates_nothing_and_the_setup_stays_pending(client: Client) -> None:
    # given
    user = UserFactory(username="bea")
    client.force_login(user)
    secret = client.post("/api/account/mfa/totp/").json()["secret"]
    wrong = wrong_code(secret)
    # when
    response = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": wrong, "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mfa_code_invalid"
    assert _totp_kinds(user) == []
    assert client.get("/api/account/").json()["mfa_enabled"] is False
    # when: the right code for the same pending secret
    right = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert right.status_code == 201


def test_activation_without_a_pending_secret_activates_nothing(client: Client) -> None:
    # given
    user = UserFactory(username="bea")
    client.force_login(user)
    # when
    response = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(SECRET), "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mfa_code_invalid"
    assert _totp_kinds(user) == []


def test_setup_when_totp_is_already_on_is_refused(client: Client) -> None:
    # given
    user = UserFactory(username="bea")
    TOTP.activate(user, SECRET)
    client.force_login(user)
    # when
    response = client.post("/api/account/mfa/totp/")
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mfa_already_enabled"
    assert _totp_kinds(user) == ["totp"]


def test_setup_needs_a_verified_address(client: Client) -> None:
    # given: signed up, not verified yet
    user = _sign_up(client)
    client.force_login(user)
    # when
    response = client.post("/api/account/mfa/totp/")
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_unverified"
    assert _totp_kinds(user) == []


def test_setup_needs_a_signed_in_user(client: Client) -> None:
    response = client.post("/api/account/mfa/totp/")
    assert response.status_code == 401
    assert Authenticator.objects.count() == 0


def test_a_member_turns_totp_off_with_acurrent_code(client: Client) -> None:
    # given
    user = UserFactory(username="bea")
    client.force_login(user)
    secret = client.post("/api/account/mfa/totp/").json()["secret"]
    client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    wrong = wrong_code(secret)
    # when
    refused = client.delete(
        "/api/account/mfa/totp/",
        {"code": wrong, "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "mfa_code_invalid"
    assert _totp_kinds(user) == ["recovery_codes", "totp"]
    # when
    response = client.delete(
        "/api/account/mfa/totp/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert response.status_code == 204
    assert _totp_kinds(user) == []
    assert client.get("/api/account/").json()["mfa_enabled"] is False


def test_turning_off_totp_that_is_not_on_is_refused(client: Client) -> None:
    client.force_login(UserFactory(username="bea"))
    response = client.delete(
        "/api/account/mfa/totp/",
        {"code": "123456", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mfa_not_enabled"


def test_staff_set_up_totp_over_the_api_then_pass_the_staff_api_and_cannot_turn_it_off(
    client: Client,
) -> None:
    # given
    staff = UserFactory(username="sam", is_support=True)
    client.force_login(staff)
    assert client.get("/api/staff/ping/").json()["error"]["code"] == "mfa_required"
    # when
    secret = client.post("/api/account/mfa/totp/").json()["secret"]
    activated = client.post(
        "/api/account/mfa/totp/activate/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    ping = client.get("/api/staff/ping/")
    # then
    assert activated.status_code == 201
    assert (ping.status_code, ping.json()) == (200, {"ok": True})
    # when
    off = client.delete(
        "/api/account/mfa/totp/",
        {"code": current_code(secret), "password": PASSWORD},
        content_type="application/json",
    )
    # then
    assert off.status_code == 403
    assert off.json()["error"]["code"] == "mfa_required"
    assert _totp_kinds(staff) == ["recovery_codes", "totp"]
