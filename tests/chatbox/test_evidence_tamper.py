"""Tampered bundles are refused, naming the first bad seq (PROTOCOL.md §5)."""

from __future__ import annotations

import json
import random
import time

import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from chatbox.evidence import canonical, key_id_of, verify_bundle
from chatbox.models import Conversation
from tests.chatbox.evidence_helpers import (
    append_many,
    bundle_for,
    event_lines,
    members,
    refusal,
    rezip,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_bundle(conversation: Conversation, buyer: User, provider: User) -> bytes:
    append_many(conversation, [buyer, provider], 4)  # seq 1 (opened) .. 5
    return bundle_for(buyer, conversation)


@pytest.fixture
def twelve_event_bundle(conversation: Conversation, buyer: User, provider: User) -> bytes:
    append_many(conversation, [buyer, provider], 11)
    return bundle_for(provider, conversation)


def _seq_at(events: bytes, position: int) -> int:
    """The seq of the line that holds byte ``position`` (its newline included)."""
    return events[:position].count(b"\n") + 1


def test_ten_thousand_events_verify(conversation: Conversation, buyer: User, provider: User):
    # given a conversation of 10,000 events
    append_many(conversation, [buyer, provider], 9_999)
    # when it is exported and verified
    started = time.monotonic()
    bundle = bundle_for(buyer, conversation)
    summary = verify_bundle(bundle)
    # then the bundle holds, with the periodic checkpoints and the export's
    assert (summary.events, summary.hash_only) == (10_000, 0)
    assert summary.checkpoints == 100  # seq 100, 200, …, 10,000 (the export's is the last)
    assert time.monotonic() - started < 20


def test_every_byte_of_small_events_is_guarded(small_bundle: bytes):
    # given a bundle that holds
    events = members(small_bundle)["events.jsonl"]
    verify_bundle(small_bundle)
    # when each byte in turn is changed (two ways) then the bundle is refused at its line
    for position in range(len(events)):
        for flip in (0x01, 0x20):
            changed = bytearray(events)
            changed[position] ^= flip
            problem = refusal(rezip(small_bundle, events_jsonl=bytes(changed)))
            assert problem.seq == _seq_at(events, position), (position, flip, problem)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_byte_changes_over_a_larger_bundle_are_refused(
    conversation: Conversation, buyer: User, provider: User, data: st.DataObject
) -> None:
    bundle = _larger_bundle(conversation, buyer, provider)
    events = members(bundle)["events.jsonl"]
    position = data.draw(st.integers(0, len(events) - 1), label="position")
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != events[position]))
    changed = bytearray(events)
    changed[position] = replacement
    problem = refusal(rezip(bundle, events_jsonl=bytes(changed)))
    assert problem.seq == _seq_at(events, position)


_LARGER: dict[str, bytes] = {}


def _larger_bundle(conversation: Conversation, buyer: User, provider: User) -> bytes:
    """One 300-event bundle for every example (Hypothesis runs them in one test's database)."""
    if str(conversation.pk) not in _LARGER:
        append_many(conversation, [buyer, provider], 299)
        _LARGER.clear()
        _LARGER[str(conversation.pk)] = bundle_for(buyer, conversation)
    return _LARGER[str(conversation.pk)]


@pytest.mark.parametrize("index", range(12))
def test_a_deleted_line_is_refused(twelve_event_bundle: bytes, index: int):
    lines = event_lines(twelve_event_bundle)
    del lines[index]
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines)))
    # then the first missing seq is named (the last one is missing at the signed head)
    assert problem.seq == index + 1


@pytest.mark.parametrize("index", range(13))
def test_an_inserted_line_is_refused(twelve_event_bundle: bytes, index: int):
    lines = event_lines(twelve_event_bundle)
    forged = json.loads(lines[5])
    forged.update(body="I never agreed to this.", seq=index + 1)
    lines.insert(index, canonical(forged) + b"\n")
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines)))
    assert problem.seq == index + 1


@pytest.mark.parametrize("index", range(12))
def test_a_duplicated_line_is_refused(twelve_event_bundle: bytes, index: int):
    lines = event_lines(twelve_event_bundle)
    lines.insert(index + 1, lines[index])
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines)))
    assert problem.seq == index + 2


@pytest.mark.parametrize(("first", "second"), [(0, 1), (2, 7), (5, 11), (10, 11)])
def test_swapped_lines_are_refused(twelve_event_bundle: bytes, first: int, second: int):
    lines = event_lines(twelve_event_bundle)
    lines[first], lines[second] = lines[second], lines[first]
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines)))
    assert problem.seq == first + 1


@pytest.mark.parametrize("kept", [1, 6, 11])
def test_a_truncated_tail_is_refused(twelve_event_bundle: bytes, kept: int):
    lines = event_lines(twelve_event_bundle)
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines[:kept])))
    assert problem.seq == kept + 1
    assert "missing" in problem.reason


def test_a_line_cut_in_the_middle_is_refused(twelve_event_bundle: bytes):
    events = members(twelve_event_bundle)["events.jsonl"]
    problem = refusal(rezip(twelve_event_bundle, events_jsonl=events[: len(events) - 40]))
    assert problem.seq == 12


def _checkpoints(bundle: bytes) -> list[dict]:
    return [json.loads(line) for line in members(bundle)["checkpoints.jsonl"].splitlines()]


def _jsonl(values: list[dict]) -> bytes:
    return b"".join(canonical(value) + b"\n" for value in values)


def test_a_forged_checkpoint_head_is_refused(twelve_event_bundle: bytes):
    # given the export's checkpoint, pointed at another head
    (checkpoint,) = _checkpoints(twelve_event_bundle)
    checkpoint["head"] = json.loads(event_lines(twelve_event_bundle)[4])["hash"]
    problem = refusal(rezip(twelve_event_bundle, checkpoints_jsonl=_jsonl([checkpoint])))
    # then its signature does not hold
    assert (problem.seq, "signature does not hold" in problem.reason) == (12, True)


def test_a_checkpoint_resigned_with_another_key_is_refused(twelve_event_bundle: bytes):
    # given a checkpoint re-signed by a key the bundle does not list
    (checkpoint,) = _checkpoints(twelve_event_bundle)
    other = nacl.signing.SigningKey.generate()
    checkpoint["key_id"] = key_id_of(bytes(other.verify_key))
    unsigned = {k: v for k, v in checkpoint.items() if k != "sig"}
    checkpoint["sig"] = other.sign(canonical(unsigned)).signature.hex()
    bundle = rezip(twelve_event_bundle, checkpoints_jsonl=_jsonl([checkpoint]))
    # then it is refused; and listing the forger's key as well passes only without --trust
    assert refusal(bundle).seq == 12
    server_keys = json.loads(members(twelve_event_bundle)["keys.json"])
    forged_keys = {**server_keys, checkpoint["key_id"]: bytes(other.verify_key).hex()}
    relisted = rezip(bundle, keys_json=json.dumps(forged_keys).encode())
    assert verify_bundle(relisted).last_signed_by == (checkpoint["key_id"],)
    problem = refusal(relisted, trusted=server_keys)
    assert "not a trusted key" in problem.reason
    # and the genuine bundle holds under the same trust
    assert verify_bundle(twelve_event_bundle, trusted=server_keys).events == 12


def test_a_key_listed_under_another_id_is_refused(twelve_event_bundle: bytes):
    other = nacl.signing.SigningKey.generate()
    (key_id,) = json.loads(members(twelve_event_bundle)["keys.json"])
    relisted = rezip(
        twelve_event_bundle, keys_json=json.dumps({key_id: bytes(other.verify_key).hex()}).encode()
    )
    assert "not the key of that id" in refusal(relisted).reason


def test_a_bundle_without_a_checkpoint_on_its_last_event_is_refused(twelve_event_bundle: bytes):
    problem = refusal(rezip(twelve_event_bundle, checkpoints_jsonl=b""))
    assert (problem.seq, problem.reason) == (12, "no checkpoint signs the last event")


def test_a_manifest_head_that_is_not_the_last_event_is_refused(twelve_event_bundle: bytes):
    manifest = json.loads(members(twelve_event_bundle)["manifest.json"])
    manifest["head"]["seq"] = 13
    problem = refusal(rezip(twelve_event_bundle, manifest_json=json.dumps(manifest).encode()))
    assert problem.seq == 13


def test_random_line_operations_name_the_first_bad_seq(twelve_event_bundle: bytes):
    # given many random edits of whole lines: each is refused at the first line that differs
    rng = random.Random(7)
    original = event_lines(twelve_event_bundle)
    for _ in range(200):
        lines = list(original)
        operation = rng.choice(["delete", "duplicate", "swap"])
        i = rng.randrange(len(lines))
        if operation == "delete":
            del lines[i]
        elif operation == "duplicate":
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        else:
            j = rng.randrange(len(lines))
            if lines[i] == lines[j]:
                continue
            lines[i], lines[j] = lines[j], lines[i]
        first_difference = next(
            (n for n, (a, b) in enumerate(zip(lines, original, strict=False)) if a != b),
            min(len(lines), len(original)),
        )
        problem = refusal(rezip(twelve_event_bundle, events_jsonl=b"".join(lines)))
        assert problem.seq == first_difference + 1, (operation, problem)
