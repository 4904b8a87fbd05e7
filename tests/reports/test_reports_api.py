"""Reports and cases (PROTOCOL.md §6): a report on a message, member or listing; merging into
one case; the queue's order; the audited case file; hiding; bad input that stores nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from chatbox.models import Conversation, Event
from chatbox.services import message_delete, message_edit, message_send
from projects.models import ProviderProfile
from reports.models import Case, EvidenceAccess, Report
from tests.factories import UserFactory, conversation_between
from tests.invoices.money import staff_member
from tests.invoices.snapshot import buyer_of, client_of, contract_of, provider_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(db: None) -> tuple[User, User, Conversation]:
    bea = UserFactory(username="bea", display_name="Bea Buyer", is_buyer=True)
    pia = UserFactory(username="pia", display_name="Pia Provider", is_provider=True)
    return bea, pia, conversation_between(bea, pia)


def said(conversation: Conversation, sender: User, body: str) -> Event:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    )


def report(client: Client, target: Any, reason: Any = "contact_details", note: Any = "") -> Any:
    return client.post(
        "/api/reports/",
        {"target": target, "reason": reason, "note": note},
        content_type="application/json",
    )


def message_target(conversation: Conversation, seq: int) -> dict[str, Any]:
    return {"type": "message", "conversation": str(conversation.pk), "seq": seq}


def stored() -> tuple[int, int, int]:
    return Case.objects.count(), Report.objects.count(), Event.objects.count()


# -- reporting ---------------------------------------------------------------------------------


def test_a_reported_message_opens_a_case_that_pins_it(
    chat: tuple[User, User, Conversation],
) -> None:
    # given the provider's message
    bea, pia, conversation = chat
    event = said(conversation, pia, "text me")
    events = Event.objects.count()
    # when the buyer reports it
    answer = report(client_of(bea), message_target(conversation, event.seq), note="Off-platform")
    # then 201 with the protocol's shape, and a case that pins the event's seq and hash
    assert answer.status_code == 201
    assert answer.json()["status"] == "open"
    assert set(answer.json()) >= {"id", "status"}
    case = Case.objects.get()
    assert (case.kind, case.target_type, case.seq, case.event_hash) == (
        "report",
        "message",
        event.seq,
        event.hash,
    )
    assert (case.subject, case.report_count, case.reason) == (pia, 1, "contact_details")
    # and nothing was posted into the chat: the reported party learns nothing
    assert Event.objects.count() == events


def test_reports_of_one_target_merge_into_one_case_with_a_count(
    chat: tuple[User, User, Conversation],
) -> None:
    # given a profile two buyers can see
    bea, pia, _ = chat
    ProviderProfile.objects.create(user=pia, headline="Logos", visibility="public")
    ben = UserFactory(username="ben", is_buyer=True)
    target = {"type": "user", "id": pia.pk}
    # when both report it, one of them twice
    first = report(client_of(bea), target, "spam")
    second = report(client_of(ben), target, "scam")
    again = report(client_of(ben), target, "scam")
    # then one case counts two reports, headed by the more serious reason
    assert (first.status_code, second.status_code) == (201, 201)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_reported")
    case = Case.objects.get()
    assert (case.report_count, case.reason) == (2, "scam")
    assert Report.objects.count() == 2


def test_a_listing_can_be_reported(taxonomy: None) -> None:
    contract = contract_of(buyer_of("bea"), provider_of("pia"))
    answer = report(client_of(contract.provider), {"type": "project", "id": contract.project_id})
    assert answer.status_code == 201
    assert Case.objects.get().subject == contract.buyer


@pytest.mark.parametrize(
    ("target", "reason", "status", "code"),
    [
        (None, "spam", 400, "invalid"),
        ({"type": "comment", "id": 1}, "spam", 400, "invalid"),
        ("MESSAGE", "spam", 400, "invalid"),
        ({"type": "message", "conversation": "nope", "seq": 1}, "spam", 400, "invalid"),
        ({"type": "message", "seq": True}, "spam", 400, "invalid"),
        ({"type": "user", "id": 999999}, "spam", 404, "not_found"),
        ({"type": "project", "id": 999999}, "spam", 404, "not_found"),
        ("valid", "rude", 400, "invalid"),
        ("valid", None, 400, "invalid"),
    ],
)
def test_bad_reports_are_refused_and_store_nothing(
    chat: tuple[User, User, Conversation], target: Any, reason: Any, status: int, code: str
) -> None:
    bea, pia, conversation = chat
    event = said(conversation, pia, "hello")
    if target == "valid":
        target = message_target(conversation, event.seq)
    before = stored()
    answer = report(client_of(bea), target, reason)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert stored() == before


def test_invisible_targets_are_not_found(chat: tuple[User, User, Conversation]) -> None:
    # given a message, a system event, a private profile, and an outsider
    bea, pia, conversation = chat
    event = said(conversation, pia, "hello")
    ProviderProfile.objects.create(user=pia, headline="Logos", visibility="private")
    oz = client_of(UserFactory(username="oz"))
    before = stored()
    # then an outsider cannot report the message or the private profile: 404, as if missing
    assert report(oz, message_target(conversation, event.seq)).status_code == 404
    assert report(oz, {"type": "user", "id": pia.pk}).status_code == 404
    # and a member cannot report a system event, a missing seq, or their own message
    assert report(client_of(bea), message_target(conversation, 1)).status_code == 404
    assert report(client_of(bea), message_target(conversation, 99)).status_code == 404
    assert report(client_of(pia), message_target(conversation, event.seq)).status_code == 400
    assert report(client_of(pia), {"type": "user", "id": pia.pk}).status_code == 400
    assert stored() == before


def test_the_queue_is_for_staff_only(chat: tuple[User, User, Conversation]) -> None:
    bea, _, _ = chat
    assert client_of(bea).get("/api/reports/").status_code == 403
    _, no_mfa = staff_member("nomfa", mfa=False)
    refused = no_mfa.get("/api/reports/")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "mfa_required")


def test_the_queue_puts_emergencies_then_money_then_count_then_age_first(
    chat: tuple[User, User, Conversation],
) -> None:
    # given four message cases
    bea, pia, conversation = chat
    seqs = [said(conversation, pia, f"message {n}").seq for n in range(4)]
    client = client_of(bea)
    for seq in seqs:
        assert report(client, message_target(conversation, seq), "spam").status_code == 201
    oldest, money, counted, emergency = Case.objects.order_by("pk")
    Case.objects.filter(pk=money.pk).update(money_at_stake=50000, currency="EUR")
    Case.objects.filter(pk=counted.pk).update(report_count=3)
    Case.objects.filter(pk=emergency.pk).update(reason="safety_emergency")
    # when staff look at the queue
    _, staff = staff_member()
    queue = staff.get("/api/reports/").json()
    # then the order is emergency, money, count, then age
    assert [entry["id"] for entry in queue] == [emergency.pk, money.pk, counted.pk, oldest.pk]
    assert all("fraud_score" in entry for entry in queue)


def test_a_safety_emergency_notifies_staff_on_duty(
    chat: tuple[User, User, Conversation], django_capture_on_commit_callbacks: Any
) -> None:
    bea, pia, conversation = chat
    UserFactory(username="duty", is_support=True, email="duty@example.com")
    event = said(conversation, pia, "I know where you live")
    with django_capture_on_commit_callbacks(execute=True):
        answer = report(client_of(bea), message_target(conversation, event.seq), "safety_emergency")
    assert answer.status_code == 201
    [sent] = mail.outbox
    assert sent.to == ["duty@example.com"]
    assert str(Case.objects.get().pk) in sent.subject
    assert "I know where you live" not in sent.body  # the case id only, never the content


# -- the case file -----------------------------------------------------------------------------


def read(staff: Client, case: Case, why: Any = "Report of contact details") -> Any:
    return staff.post(
        f"/api/staff/cases/{case.pk}/read/", {"why": why}, content_type="application/json"
    )


def test_the_case_file_shows_the_whole_record_and_logs_the_read(
    chat: tuple[User, User, Conversation],
) -> None:
    # given a message edited, one deleted, and a report
    bea, pia, conversation = chat
    first = said(conversation, pia, "my number is 555 0100 123")
    message_edit(
        conversation_id=conversation.pk,
        editor=pia,
        client_id=uuid.uuid4(),
        seq=first.seq,
        body="sorry, forget it",
    )
    gone = said(conversation, pia, "wire me the money")
    message_delete(conversation_id=conversation.pk, by=pia, client_id=uuid.uuid4(), seq=gone.seq)
    assert report(client_of(bea), message_target(conversation, first.seq)).status_code == 201
    case = Case.objects.get()
    sam, staff = staff_member()
    # when support reads it, giving a reason
    answer = read(staff, case)
    # then the timeline holds every version of the text, and the read is logged
    assert answer.status_code == 200
    timeline = answer.json()["timeline"]
    bodies = [(e["kind"], e["body"], e["target_seq"]) for e in timeline if e["sender"]]
    assert bodies == [
        ("text", "my number is 555 0100 123", None),
        ("edit", "sorry, forget it", first.seq),
        ("text", "wire me the money", None),
        ("delete", "", gone.seq),
    ]
    assert answer.json()["reports"][0]["reporter"]["id"] == bea.pk
    access = EvidenceAccess.objects.get()
    assert (access.staff, access.what, access.object_id, access.case, access.why) == (
        sam,
        "conversation",
        str(conversation.pk),
        case,
        "Report of contact details",
    )


def test_no_reason_or_a_closed_case_reads_nothing_and_logs_nothing(
    chat: tuple[User, User, Conversation],
) -> None:
    bea, pia, conversation = chat
    event = said(conversation, pia, "hello")
    report(client_of(bea), message_target(conversation, event.seq))
    case = Case.objects.get()
    _, staff = staff_member()
    refused = read(staff, case, why="")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    closed = staff.post(
        f"/api/staff/cases/{case.pk}/close/",
        {"resolution": "No issue."},
        content_type="application/json",
    )
    assert closed.status_code == 200
    after = read(staff, case)
    assert (after.status_code, after.json()["error"]["code"]) == (409, "closed")
    assert not EvidenceAccess.objects.exists()
    # and members never reach the case file
    assert read(client_of(bea), case).status_code == 403


def test_hiding_a_message_keeps_it_in_the_record(chat: tuple[User, User, Conversation]) -> None:
    # given a reported message
    bea, pia, conversation = chat
    event = said(conversation, pia, "buy followers at spam.example")
    report(client_of(bea), message_target(conversation, event.seq), "spam")
    case = Case.objects.get()
    _, staff = staff_member()
    # when support hides it
    hidden = staff.post(
        f"/api/staff/cases/{case.pk}/hide/", {"reason": "Spam."}, content_type="application/json"
    )
    # then members see a notice, the chain says so, and the record keeps the text
    assert hidden.status_code == 200
    messages = client_of(bea).get(f"/api/conversations/{conversation.pk}/messages/").json()
    [shown] = [m for m in messages if m["seq"] == event.seq]
    assert (shown["body"], shown["data"]["hidden"]) == ("This message was hidden by support.", True)
    assert messages[-1]["data"]["event"] == "message_hidden"
    timeline = read(staff, case).json()["timeline"]
    [kept] = [e for e in timeline if e["seq"] == event.seq]
    assert (kept["body"], kept["hidden"]) == ("buy followers at spam.example", True)


def test_case_notes_are_staff_only(chat: tuple[User, User, Conversation]) -> None:
    bea, pia, conversation = chat
    event = said(conversation, pia, "hello")
    report(client_of(bea), message_target(conversation, event.seq))
    case = Case.objects.get()
    _, staff = staff_member()
    url = f"/api/staff/cases/{case.pk}/notes/"
    assert (
        staff.post(url, {"text": "Looks fine."}, content_type="application/json").status_code == 201
    )
    assert (
        client_of(bea).post(url, {"text": "x"}, content_type="application/json").status_code == 403
    )
    assert [n["text"] for n in read(staff, case).json()["notes"]] == ["Looks fine."]
