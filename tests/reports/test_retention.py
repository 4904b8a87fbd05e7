"""Retention (reports.retention, chatbox.retention, docs/retention.md): conversations whose work
is over close when idle; closed ones are crypto-shredded after the retention period; a report,
a dispute or an operator's legal hold keeps them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chatbox import files
from chatbox.errors import ApplicationError
from chatbox.models import ChatFile, Conversation, ConversationKey, Event
from chatbox.presenters import DESTROYED, messages_present
from chatbox.services import conversation_chain_verify, message_send
from projects.contracts import contract_end
from projects.models import Contract
from reports.cases import report_submit
from reports.models import LegalHold
from reports.retention import legal_hold_place, legal_hold_release, retention_run
from tests.chatbox.files_helpers import png, stored_files, upload
from tests.invoices.money import contract_between, funded_contract, verified_provider
from tests.projects.market import buyer as a_buyer
from tests.projects.market import client_of

pytestmark = pytest.mark.django_db

SECRET = "the door code is 4417"


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path, taxonomy: None, tasks_in_process: None) -> None:
    settings.DATA_DIR = tmp_path
    settings.CHATBOX_CLOSE_IDLE_DAYS = 90
    settings.CHATBOX_RETENTION_DAYS = 365


@pytest.fixture
def bea() -> User:
    return a_buyer("bea")


@pytest.fixture
def pia() -> User:
    return verified_provider()


def say(conversation_id: uuid.UUID, sender: User, body: str) -> Event:
    return message_send(
        conversation_id=conversation_id, sender=sender, client_id=uuid.uuid4(), body=body
    )


def quiet_for(conversation_id: uuid.UUID, days: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        last_activity_at=timezone.now() - timedelta(days=days)
    )


def closed_days_ago(conversation_id: uuid.UUID, days: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        closed_at=timezone.now() - timedelta(days=days)
    )


def ended_contract(bea: User, pia: User) -> Contract:
    contract = contract_between(bea, pia)
    return contract_end(user=bea, contract_id=contract.pk, outcome="cancelled")


def state(conversation_id: uuid.UUID) -> tuple[datetime | None, datetime | None, int]:
    conversation = Conversation.objects.get(pk=conversation_id)
    return conversation.closed_at, conversation.shredded_at, conversation.head_seq


def test_a_finished_quiet_conversation_closes_then_is_shredded(
    bea: User, pia: User, django_capture_on_commit_callbacks: Any
) -> None:
    # given a cancelled contract's chat with a message and a file, quiet for 91 days
    contract = ended_contract(bea, pia)
    conversation_id = contract.engagement.conversation_id
    say(conversation_id, pia, SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        chat_file = files.file_send(
            conversation_id=conversation_id, sender=pia, file=upload(png(), "logo.png")
        )
    assert len(stored_files()) == 3
    quiet_for(conversation_id, 91)
    # when retention runs, twice
    first, second = retention_run(now=timezone.now()), retention_run(now=timezone.now())
    # then it closed once, with an event that says so, and is read-only
    assert (first.closed, second.closed, first.shredded) == (1, 0, 0)
    closed_at, shredded_at, head = state(conversation_id)
    assert closed_at is not None and shredded_at is None
    notice = Event.objects.get(conversation_id=conversation_id, seq=head)
    assert notice.data == {"event": "conversation_closed"}
    with pytest.raises(ApplicationError) as refused:
        say(conversation_id, bea, "still there?")
    assert refused.value.code == "closed"
    # when the retention period has passed since it closed
    closed_days_ago(conversation_id, 366)
    with django_capture_on_commit_callbacks(execute=True):
        done = retention_run(now=timezone.now())
    again = retention_run(now=timezone.now())
    # then its keys and files are gone, once; its chain of hashes is still whole
    assert (done.shredded, again.shredded) == (1, 0)
    assert Conversation.objects.get(pk=conversation_id).shredded_at is not None
    assert not ConversationKey.objects.filter(conversation_id=conversation_id).exists()
    assert stored_files() == []
    assert not Event.objects.filter(conversation_id=conversation_id).exclude(fingerprint="")
    assert Event.objects.filter(conversation_id=conversation_id).count() == head
    assert conversation_chain_verify(conversation_id=conversation_id).ok
    # and members see the facts with a notice, never the text; export and files are gone
    events = list(Event.objects.filter(conversation_id=conversation_id).order_by("seq"))
    shown = messages_present(conversation_id=conversation_id, events=events)
    assert {m["body"] for m in shown} == {DESTROYED}
    assert all(m["data"]["shredded"] for m in shown)
    client: Client = client_of(bea)
    exported = client.get(f"/api/conversations/{conversation_id}/evidence/")
    assert (exported.status_code, exported.json()["error"]["code"]) == (410, "gone")
    link = client.get(f"/api/files/{chat_file.pk}/link/")
    assert link.status_code == 404
    listed = client.get(f"/api/conversations/{conversation_id}/messages/")
    assert listed.status_code == 200
    assert SECRET not in listed.content.decode()


@pytest.mark.parametrize("case", ["active contract", "listing open", "recent", "escrow held"])
def test_a_conversation_whose_work_goes_on_stays_open(bea: User, pia: User, case: str) -> None:
    if case == "active contract":
        conversation_id = contract_between(bea, pia).engagement.conversation_id
    elif case == "listing open":
        contract = ended_contract(bea, pia)
        contract.project.status = "open"
        contract.project.save(update_fields=["status"])
        conversation_id = contract.engagement.conversation_id
    elif case == "recent":
        conversation_id = ended_contract(bea, pia).engagement.conversation_id
    else:  # the provider withdrew: the escrow waits out its notice window
        contract = funded_contract(bea, pia)
        contract_end(user=pia, contract_id=contract.pk, outcome="withdrawn")
        conversation_id = contract.engagement.conversation_id
    quiet_for(conversation_id, 10 if case == "recent" else 400)
    before = state(conversation_id)
    assert retention_run(now=timezone.now()).closed == 0
    assert state(conversation_id) == before


def test_a_report_or_an_operators_hold_keeps_it(bea: User, pia: User) -> None:
    # given two closed conversations past retention: one reported, one under a legal hold
    held_by_case = ended_contract(bea, pia).engagement.conversation_id
    message = say(held_by_case, pia, SECRET)
    report_submit(
        reporter=bea,
        target={"type": "message", "conversation": str(held_by_case), "seq": message.seq},
        reason="scam",
    )
    other_buyer = a_buyer("bob")
    held_by_order = ended_contract(other_buyer, pia).engagement.conversation_id
    hold = legal_hold_place(conversation_id=held_by_order, why="Court order 114", by="ops")
    for conversation_id in (held_by_case, held_by_order):
        quiet_for(conversation_id, 400)
    # when retention runs: neither closes
    assert retention_run(now=timezone.now()).closed == 0
    # and once closed and due, neither is shredded
    for conversation_id in (held_by_case, held_by_order):
        Conversation.objects.filter(pk=conversation_id).update(closed_at=timezone.now())
        closed_days_ago(conversation_id, 400)
    assert retention_run(now=timezone.now()).shredded == 0
    assert ConversationKey.objects.filter(conversation_id=held_by_order).exists()
    # when the hold is released, the next run shreds that one only
    legal_hold_release(hold_id=hold.pk, by="ops")
    assert retention_run(now=timezone.now()).shredded == 1
    assert state(held_by_order)[1] is not None
    assert state(held_by_case)[1] is None


def test_operators_place_list_and_release_holds(bea: User, pia: User) -> None:
    conversation_id = ended_contract(bea, pia).engagement.conversation_id
    out = StringIO()
    call_command(
        "legal_hold",
        "place",
        str(conversation_id),
        "--why",
        "Court order",
        "--by",
        "ops",
        stdout=out,
    )
    hold = LegalHold.objects.get()
    call_command("legal_hold", "list", stdout=out)
    call_command("legal_hold", "release", str(hold.pk), "--by", "ops", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Hold {hold.pk} placed on {conversation_id}."
    assert lines[1].startswith(f"{hold.pk}\t{conversation_id}\t")
    assert lines[1].endswith("\tops\tCourt order")
    assert lines[2] == f"Hold {hold.pk} on {conversation_id} released."
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == "ops"


@pytest.mark.parametrize(
    "arguments",
    [
        ["place", "not-a-uuid", "--why", "x", "--by", "ops"],
        ["place", str(uuid.uuid4()), "--why", "x", "--by", "ops"],
        ["place", "{conversation}", "--why", "   ", "--by", "ops"],
        ["release", "999", "--by", "ops"],
    ],
)
def test_bad_holds_are_refused_and_place_nothing(
    bea: User, pia: User, arguments: list[str]
) -> None:
    conversation_id = ended_contract(bea, pia).engagement.conversation_id
    arguments = [a.format(conversation=conversation_id) for a in arguments]
    with pytest.raises(CommandError):
        call_command("legal_hold", *arguments, stdout=StringIO())
    assert not LegalHold.objects.exists()


def test_a_released_hold_is_not_released_twice(bea: User, pia: User) -> None:
    conversation_id = ended_contract(bea, pia).engagement.conversation_id
    hold = legal_hold_place(conversation_id=conversation_id, why="Claim", by="ops")
    first = legal_hold_release(hold_id=hold.pk, by="ops")
    with pytest.raises(ApplicationError) as twice:
        legal_hold_release(hold_id=hold.pk, by="someone else")
    assert twice.value.code == "closed"
    hold.refresh_from_db()
    assert (hold.released_at, hold.released_by) == (first.released_at, "ops")


def test_only_a_closed_conversation_is_shredded(bea: User, pia: User) -> None:
    from chatbox.retention import conversation_shred

    conversation_id = ended_contract(bea, pia).engagement.conversation_id
    with pytest.raises(ApplicationError):
        conversation_shred(conversation_id=conversation_id)
    assert ConversationKey.objects.filter(conversation_id=conversation_id).exists()
    assert not ChatFile.objects.exists()
