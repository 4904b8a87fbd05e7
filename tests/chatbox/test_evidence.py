"""The evidence bundle as exported, and the offline verifier (PROTOCOL.md §1, §5)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from chatbox import evidence
from chatbox.evidence import CanonicalError, canonical, verify_bundle
from chatbox.files import file_send
from chatbox.models import Checkpoint, Conversation
from chatbox.services import message_delete, message_edit, message_send, system_event_post
from tests.chatbox.evidence_helpers import (
    append_many,
    bundle_for,
    event_lines,
    members,
    refusal,
    rezip,
)
from tests.chatbox.files_helpers import png

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def said(conversation: Conversation, sender: User, body: str) -> int:
    return message_send(
        conversation_id=conversation.pk, sender=sender, client_id=uuid.uuid4(), body=body
    ).seq


def test_a_conversation_exports_to_a_bundle_that_holds(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given messages, an edit, a delete and a money event
    first = said(conversation, buyer, "Hello <script>alert(1)</script> & welcome")
    said(conversation, provider, "Thanks!")
    message_edit(
        conversation_id=conversation.pk,
        editor=buyer,
        client_id=uuid.uuid4(),
        seq=first,
        body="Hello again",
    )
    message_delete(conversation_id=conversation.pk, by=buyer, client_id=uuid.uuid4(), seq=first)
    system_event_post(
        conversation_id=conversation.pk,
        body="Invoice 7 issued.",
        data={"event": "invoice_issued", "invoice": 7, "total": 12_000},
        kind="invoice",
    )
    # when the buyer exports it
    bundle = bundle_for(buyer, conversation)
    summary = verify_bundle(bundle)
    # then it holds up to the head, which the export signed
    conversation.refresh_from_db()
    assert (summary.events, summary.head_hash) == (6, conversation.head_hash)
    contents = members(bundle)
    assert set(contents) == {
        "manifest.json",
        "events.jsonl",
        "checkpoints.jsonl",
        "keys.json",
        "transcript.html",
    }
    manifest = json.loads(contents["manifest.json"])
    assert manifest["format"] == "chatbox-evidence/1"
    assert manifest["conversation"] == str(conversation.pk)
    assert manifest["exported_by"] == {"id": buyer.pk, "username": "buyer", "as": "buyer"}
    assert manifest["head"] == {"seq": 6, "hash": conversation.head_hash}
    # and each line is the canonical event, the original text kept
    events = [json.loads(line) for line in event_lines(bundle)]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e["kind"] for e in events] == ["system", "text", "text", "edit", "delete", "invoice"]
    assert events[1]["body"] == "Hello <script>alert(1)</script> & welcome"
    assert events[1]["actor"] == buyer.pk
    assert set(events[1]) == evidence.EVENT_FIELDS
    assert all(
        canonical(e) + b"\n" == line for e, line in zip(events, event_lines(bundle), strict=True)
    )
    # and the money event and the export each made a checkpoint (the same head: one)
    assert list(Checkpoint.objects.values_list("seq", flat=True)) == [6]
    # and the transcript escapes the text and says it is not the evidence
    transcript = contents["transcript.html"].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; welcome" in transcript
    assert "<script>" not in transcript
    assert "informative only and not verified" in transcript


def test_hidden_contact_details_of_the_other_party_are_exported_hash_only(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given the provider's phone number before any contract is funded
    seq = said(conversation, provider, "Call me on +1 415 555 0133 tonight")
    # when the buyer exports
    bundle = bundle_for(buyer, conversation)
    # then that event carries its commitment only, and the bundle still holds
    event = json.loads(event_lines(bundle)[seq - 1])
    assert (event["body"], event["salt"]) == (None, None)
    assert verify_bundle(bundle).hash_only == 1
    assert "555 0133" not in members(bundle)["transcript.html"].decode()
    # and the sender's own export shows the text
    own = json.loads(event_lines(bundle_for(provider, conversation))[seq - 1])
    assert own["body"] == "Call me on +1 415 555 0133 tonight"
    assert own["hash"] == event["hash"]


def test_a_file_travels_in_the_bundle_and_is_checked(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    # given a picture sent in the chat
    content = png(40, 30)
    file_send(
        conversation_id=conversation.pk,
        sender=provider,
        file=SimpleUploadedFile("logo draft.png", content, content_type="image/png"),
    )
    bundle = bundle_for(buyer, conversation)
    event = json.loads(event_lines(bundle)[1])
    [entry] = event["files"]
    assert entry["size"] == len(members(bundle)[f"files/{entry['sha256']}"])
    assert verify_bundle(bundle).files == 1
    # when its bytes are altered, or the file is left out
    name = f"files__{entry['sha256']}"
    altered = bytearray(members(bundle)[f"files/{entry['sha256']}"])
    altered[len(altered) // 2] ^= 0xFF
    problems = [
        refusal(rezip(bundle, **{name: bytes(altered)})),
        refusal(rezip(bundle, **{name: None})),
        refusal(rezip(bundle, **{name: bytes(altered) + b"x"})),
    ]
    # then each is refused at the file's event
    assert [p.seq for p in problems] == [2, 2, 2]
    assert "does not match its SHA-256" in problems[0].reason
    assert "missing" in problems[1].reason


def test_an_unpaid_sample_is_withheld_from_the_buyer_but_not_from_its_sender(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    file_send(
        conversation_id=conversation.pk,
        sender=provider,
        file=SimpleUploadedFile("sample.png", png(40, 30), content_type="image/png"),
        sample=True,
    )
    buyers = bundle_for(buyer, conversation)
    assert not [name for name in members(buyers) if name.startswith("files/")]
    summary = verify_bundle(buyers)
    assert (summary.files, summary.withheld_files) == (0, 1)
    assert verify_bundle(bundle_for(provider, conversation)).files == 1


# -- the verifier's canonical JSON agrees with rfc8785 -------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(alphabet=st.characters(exclude_categories=["Cs"])), children)
    ),
    max_leaves=30,
)


@given(json_values)
def test_the_verifiers_canonical_json_agrees_with_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [1.5, 2**53, -(2**53), {"a": 0.0}, "\ud800", {1: "x"}])
def test_the_verifiers_canonical_json_refuses_what_events_never_hold(value: Any) -> None:
    with pytest.raises(CanonicalError):
        canonical(value)


def test_canonical_json_agrees_on_every_exported_event(
    conversation: Conversation, buyer: User, provider: User
) -> None:
    append_many(conversation, [buyer, provider], 150)
    for line in event_lines(bundle_for(buyer, conversation)):
        event = json.loads(line)
        assert canonical(event) == rfc8785.dumps(event) == line.rstrip(b"\n")


# -- the command line -------------------------------------------------------------------------


def run_verifier(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", *args], capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_the_verifier_runs_isolated_and_names_the_first_bad_seq(
    conversation: Conversation, buyer: User, provider: User, tmp_path: Path
) -> None:
    # given a bundle that holds, and a copy with event 3's text changed
    append_many(conversation, [buyer, provider], 4)
    bundle = bundle_for(buyer, conversation)
    good = tmp_path / "good.zip"
    good.write_bytes(bundle)
    lines = event_lines(bundle)
    forged = json.loads(lines[2])
    forged["body"] = "I agree to pay double."
    lines[2] = canonical(forged) + b"\n"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip(bundle, events_jsonl=b"".join(lines)))
    # when the verifier runs as its own process, isolated from the environment
    held = run_verifier("-m", "chatbox.evidence", "verify", str(good))
    refused = run_verifier("-m", "chatbox.evidence", "verify", str(bad))
    # then it says so with its exit status and names the seq
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith(f"OK: conversation {conversation.pk}: 5 events")
    assert refused.returncode == 1
    assert refused.stdout == ("INVALID: first bad seq 3: the body does not match its commitment\n")


def test_the_verifier_imports_no_django(tmp_path: Path) -> None:
    probe = (
        "import sys, chatbox.evidence as e; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rfc8785', 'rest_framework', 'channels', 'config', 'accounts'} "
        "or m in {'chatbox.canonical', 'chatbox.models', 'chatbox.services'}); "
        "print(bad)"
    )
    result = run_verifier("-c", probe)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
    missing = run_verifier("-X", "importtime", "-m", "chatbox.evidence", "verify", "nope.zip")
    assert missing.returncode == 1
    assert " django" not in missing.stderr
