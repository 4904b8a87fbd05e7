"""Contact details in the chat (PROTOCOL.md §4): masked for every viewer before a contract on
the conversation is funded, off-platform payment details always; the record keeps the original;
the composer's draft check says what will be hidden; every masked attempt is a fraud signal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from chatbox.models import ContactAttempt, Conversation, Event
from chatbox.presenters import messages_present, record_present
from chatbox.services import message_edit, message_send
from invoices.services import escrow_fund
from tests.invoices.snapshot import buyer_of, client_of, contract_of, provider_of

pytestmark = pytest.mark.django_db

PHONE = "call me on +44 20 7946 0958 tonight"
IBAN = "pay to GB82 WEST 1234 5698 7654 32 directly"


@pytest.fixture
def deal(taxonomy: None) -> Any:
    """A contract between bea and pia, not funded; its conversation."""
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    return contract, Conversation.objects.get(pk=contract.engagement.conversation_id)


def sent(conversation: Conversation, sender: Any, body: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def shown(client: Client, conversation: Conversation, seq: int) -> dict[str, Any]:
    """The message as the API shows it to ``client``'s user."""
    messages = client.get(f"/api/conversations/{conversation.pk}/messages/?after={seq - 1}")
    assert messages.status_code == 200
    return messages.json()[0]


def test_a_phone_number_is_hidden_from_both_parties_before_funding(deal: Any) -> None:
    # given an unfunded contract, and the provider sends a phone number
    contract, conversation = deal
    event = sent(conversation, contract.provider, PHONE)
    # then both parties see a placeholder, with the redaction listed
    for party in (contract.buyer, contract.provider):
        message = shown(client_of(party), conversation, event.seq)
        assert message["body"] == "call me on [phone hidden] tonight"
        assert "7946" not in message["html"]
        assert message["redactions"] == [{"start": 11, "end": 27, "kind": "phone"}]
        assert PHONE[11:27] == "+44 20 7946 0958"
    # and the record keeps the original, for evidence
    [record] = [e for e in record_present(conversation_id=conversation.pk) if e["seq"] == event.seq]
    assert record["body"] == PHONE
    # and the attempt is a fraud signal, kinds only
    attempt = ContactAttempt.objects.get()
    assert (attempt.user, attempt.kinds, attempt.sent) == (contract.provider, ["phone"], True)


def test_after_funding_contacts_show_but_payment_details_never_do(deal: Any) -> None:
    # given the buyer funds the contract
    contract, conversation = deal
    before = sent(conversation, contract.provider, PHONE)
    escrow_fund(
        buyer=contract.buyer,
        contract_id=contract.pk,
        amount=1000,
        currency="EUR",
        payment_method="pm_sandbox_ok",
    )
    # when the provider sends a phone number and bank details
    phone, iban = (sent(conversation, contract.provider, text) for text in (PHONE, IBAN))
    # then the phone numbers show now, also the one sent before, and the IBAN stays hidden
    client = client_of(contract.buyer)
    assert shown(client, conversation, before.seq)["body"] == PHONE
    assert shown(client, conversation, phone.seq)["redactions"] == []
    hidden = shown(client, conversation, iban.seq)
    assert hidden["body"] == "pay to [payment details hidden] directly"
    assert [r["kind"] for r in hidden["redactions"]] == ["payment"]
    # and only the hidden attempts count as signals: the first phone, and the IBAN
    assert sorted(tuple(a.kinds) for a in ContactAttempt.objects.all()) == [
        ("payment",),
        ("phone",),
    ]


def test_a_plain_link_is_shown_and_is_no_signal(deal: Any) -> None:
    contract, conversation = deal
    event = sent(conversation, contract.provider, "my portfolio: https://example.com/work")
    message = shown(client_of(contract.buyer), conversation, event.seq)
    assert (message["body"], message["redactions"]) == (
        "my portfolio: https://example.com/work",
        [],
    )
    assert not ContactAttempt.objects.exists()


def test_an_edit_that_adds_an_email_is_masked_too(deal: Any) -> None:
    contract, conversation = deal
    event = sent(conversation, contract.provider, "hello")
    message_edit(
        conversation_id=conversation.pk,
        editor=contract.provider,
        client_id=uuid.uuid4(),
        seq=event.seq,
        body="write to pia at gmail dot com",
    )
    [message] = messages_present(conversation_id=conversation.pk, events=[event])
    assert message["data"]["edited"] is True
    assert message["body"] == "write to [email hidden]"
    assert [r["kind"] for r in message["redactions"]] == ["email"]


# -- the composer's check ---------------------------------------------------------------------


def check(client: Client, conversation: Conversation, body: Any) -> Any:
    return client.post(
        f"/api/conversations/{conversation.pk}/contact-check/",
        {"body": body},
        content_type="application/json",
    )


def test_the_draft_check_says_what_will_be_hidden_and_stores_no_message(deal: Any) -> None:
    contract, conversation = deal
    events = Event.objects.count()
    answer = check(client_of(contract.provider), conversation, PHONE)
    assert answer.status_code == 200
    assert answer.json() == {
        "redactions": [{"start": 11, "end": 27, "kind": "phone"}],
        "masked": "call me on [phone hidden] tonight",
        "unlocked": False,
    }
    assert Event.objects.count() == events
    attempt = ContactAttempt.objects.get()
    assert (attempt.kinds, attempt.sent) == (["phone"], False)
    # a clean draft is no signal
    clean = check(client_of(contract.provider), conversation, "Delivery on 2026-12-01 at 10:30")
    assert clean.json()["redactions"] == []
    assert ContactAttempt.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [("", 400, "invalid"), ("   ", 400, "invalid_frame"), (None, 400, "invalid")],
)
def test_a_bad_draft_is_refused(deal: Any, body: Any, status: int, code: str) -> None:
    contract, conversation = deal
    answer = check(client_of(contract.provider), conversation, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert not ContactAttempt.objects.exists()


def test_an_outsider_cannot_check_drafts_in_someone_elses_conversation(deal: Any) -> None:
    _, conversation = deal
    outsider = client_of(buyer_of("oz"))
    assert check(outsider, conversation, PHONE).status_code == 404
    assert Client().post(
        f"/api/conversations/{conversation.pk}/contact-check/",
        {"body": PHONE},
        content_type="application/json",
    ).status_code in (401, 403)
    assert not ContactAttempt.objects.exists()
