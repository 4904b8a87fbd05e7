"""Fraud signals: the risk score is made of documented signals, and the scan puts users at or
above the threshold into the support queue, once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chatbox.services import contact_check, message_send
from invoices.models import Invoice
from invoices.services import LineItem, escrow_fund, invoice_raise
from reports.models import Case
from reports.risk import SIGNALS, risk_of, risk_scan_run
from tests.factories import UserFactory, conversation_between
from tests.invoices.snapshot import buyer_of, client_of, contract_of, provider_of

pytestmark = pytest.mark.django_db


def send(conversation_id: uuid.UUID, sender: User, body: str) -> None:
    message_send(conversation_id=conversation_id, sender=sender, client_id=uuid.uuid4(), body=body)


def test_each_signal_counts_with_its_weight_and_cap(taxonomy: None) -> None:
    # given a provider who sends two phone numbers, drafts one, and sends one text to three
    # conversations, and whose buyer's card is declined
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    pia, bea = contract.provider, contract.buyer
    chat = contract.engagement.conversation_id
    send(chat, pia, "call 020 7946 0958")
    send(chat, pia, "or +44 20 7946 0959")
    contact_check(conversation_id=chat, user=pia, body="mail pia at gmail dot com")
    for n in range(3):
        other = conversation_between(UserFactory(username=f"b{n}"), pia)
        send(other.pk, pia, "Hello, I can do it cheaper  outside")
    with pytest.raises(Exception):
        escrow_fund(
            buyer=bea,
            contract_id=contract.pk,
            amount=1000,
            currency="EUR",
            payment_method="pm_sandbox_declined",
        )
    # when the scores are computed
    scores = risk_of(user_ids=[pia.pk, bea.pk])
    # then each signal is counted and weighted
    assert scores[pia.pk].counts["contact_sent"] == 2
    assert scores[pia.pk].counts["contact_drafted"] == 1
    assert scores[pia.pk].counts["same_text"] == 1
    assert scores[pia.pk].points == {
        "contact_sent": 2 * SIGNALS["contact_sent"].weight,
        "contact_drafted": SIGNALS["contact_drafted"].weight,
        "same_text": SIGNALS["same_text"].weight,
    }
    assert scores[bea.pk].points == {"payment_failed": SIGNALS["payment_failed"].weight}


def test_a_new_unverified_provider_raising_a_large_invoice_is_a_signal(taxonomy: None) -> None:
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    invoice_raise(
        provider=contract.provider,
        contract_id=contract.pk,
        currency="EUR",
        items=[LineItem("Everything", 200_000)],
    )
    assert (
        risk_of(user_ids=[contract.provider.pk])[contract.provider.pk].counts["large_invoice_new"]
        == 1
    )
    # an old, ID-verified account raising the same is no signal
    User.objects.filter(pk=contract.provider.pk).update(
        date_joined=timezone.now() - timedelta(days=400), id_verified_at=timezone.now()
    )
    Invoice.objects.update(issued_at=timezone.now())
    assert risk_of(user_ids=[contract.provider.pk])[contract.provider.pk].score == 0


def test_the_scan_queues_users_at_the_threshold_once(taxonomy: None) -> None:
    # given a provider reported by three buyers (45 points) who also sends a phone number (10)
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    pia = contract.provider
    send(contract.engagement.conversation_id, pia, "call 020 7946 0958")
    quiet = provider_of("quinn")
    for n in range(3):
        buyer = buyer_of(f"r{n}")
        conversation_between(buyer, pia)
        answer = client_of(buyer).post(
            "/api/reports/",
            {"target": {"type": "user", "id": pia.pk}, "reason": "scam"},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.json()
    assert risk_of(user_ids=[pia.pk])[pia.pk].score == 55
    # when the scan runs twice
    opened = [risk_scan_run(now=timezone.now()), risk_scan_run(now=timezone.now())]
    # then one risk case is opened for the provider, and none for a quiet user
    assert opened == [1, 0]
    risk = Case.objects.get(kind="risk")
    assert (risk.subject, risk.target_key) == (pia, f"risk:{pia.pk}")
    assert not Case.objects.filter(subject=quiet).exists()
