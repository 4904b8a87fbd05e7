"""The offline verifier of evidence bundles (PROTOCOL.md §5).

    python -m chatbox.evidence verify BUNDLE.zip [--trust KEY_ID:HEX_PUBLIC_KEY ...]

Needs only the Python standard library and PyNaCl: it imports nothing of Django or of the rest
of the project, so an arbitrator can run this one file on its own. It has its own canonical
JSON (RFC 8785) for the values events hold — strings, integers, booleans, null, lists and
objects; floats are refused — which agrees byte for byte with the ``rfc8785`` package the
server uses.

A bundle holds when ``events.jsonl`` runs seq 1..n without gaps, each line is the canonical
form of its event, every ``prev`` and ``hash`` recomputes, every body matches its commitment,
every file's bytes match its SHA-256 and size, every checkpoint's signature holds under the
key ``keys.json`` names (whose id is the first 16 hex digits of SHA-256 of the public key) and
its head is the hash of the event at its seq, and a checkpoint signs the last event. The keys
come from the bundle itself; ``--trust`` pins the platform's published keys instead.

Exit 0 and a summary when the bundle holds; exit 1 naming the first bad ``seq`` and why.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.signing

FORMAT = "chatbox-evidence/1"
GENESIS_PREV = "0" * 64
EVENT_FIELDS = frozenset(
    {
        "v",
        "conversation",
        "seq",
        "prev",
        "kind",
        "actor",
        "ts",
        "body",
        "salt",
        "body_commit",
        "files",
        "data",
        "hash",
    }
)
CHECKPOINT_FIELDS = frozenset({"conversation", "seq", "head", "ts", "key_id", "sig"})
FILE_FIELDS = frozenset({"sha256", "size", "name"})
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX_EVEN = re.compile(r"(?:[0-9a-f]{2})*")
INT_MAX = 2**53 - 1


# -- canonical JSON (RFC 8785), without floats -------------------------------------------------


class CanonicalError(ValueError):
    """A value that has no canonical form here (a float, a huge integer, a lone surrogate…)."""


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_TO_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str, out: list[str]) -> None:
    out.append('"')
    out.append(_TO_ESCAPE.sub(_escape, text))
    out.append('"')


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -INT_MAX <= value <= INT_MAX:
            raise CanonicalError(f"integer {value} is beyond JSON's exact range")
        out.append(str(int(value)))
    elif isinstance(value, str):
        _string(value, out)
    elif isinstance(value, float):
        raise CanonicalError("events hold no floats")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise CanonicalError("object keys are strings")
        out.append("{")
        # RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
        for index, key in enumerate(sorted(value, key=lambda name: name.encode("utf-16-be"))):
            if index:
                out.append(",")
            _string(key, out)
            out.append(":")
            _write(value[key], out)
        out.append("}")
    else:
        raise CanonicalError(f"no canonical form for {type(value).__name__}")


def canonical(value: Any) -> bytes:
    """The RFC 8785 form of ``value`` (no floats), as UTF-8 bytes."""
    out: list[str] = []
    _write(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("a string holds a lone surrogate") from exc


def event_hash(event: dict[str, Any]) -> str:
    """``SHA-256(0x00 || canonical(event without "hash"))``, ``body`` and ``salt`` as null."""
    hashed = {key: value for key, value in event.items() if key != "hash"}
    hashed["body"] = hashed["salt"] = None
    return hashlib.sha256(b"\x00" + canonical(hashed)).hexdigest()


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


# -- reading a bundle -------------------------------------------------------------------------


class BundleInvalid(Exception):
    """The bundle does not hold; ``seq`` is the first bad event (None: the bundle as a whole)."""

    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}" if self.seq is not None else self.reason


@dataclass(frozen=True)
class Summary:
    conversation: str
    events: int
    head_hash: str
    checkpoints: int
    files: int
    withheld_files: int
    hash_only: int
    keys: dict[str, str] = field(default_factory=dict)
    last_signed_by: tuple[str, ...] = ()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _refuse_float(text: str) -> Any:
    raise ValueError("a number with a fraction or exponent")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object names a member twice")
    return result


def _json(data: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate names, no floats, no NaN or Infinity."""
    return json.loads(
        data.decode("utf-8"),
        object_pairs_hook=_no_duplicates,
        parse_float=_refuse_float,
        parse_constant=_refuse_constant,
    )


def _canonical_line(line: bytes) -> Any:
    """The value of a line that must be the canonical JSON of an object."""
    try:
        value = _json(line)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    try:
        if canonical(value) != line:
            raise ValueError("not in canonical form (RFC 8785)")
    except CanonicalError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _lines(data: bytes) -> tuple[list[bytes], bool]:
    """The lines of a JSON-lines member, and whether the last one is cut (every line of a
    whole member ends with a newline)."""
    if not data:
        return [], False
    if data.endswith(b"\n"):
        return data[:-1].split(b"\n"), False
    return data.split(b"\n"), True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _event_shape_problem(event: dict[str, Any], conversation: str) -> str | None:
    if set(event) != EVENT_FIELDS:
        missing, extra = sorted(EVENT_FIELDS - set(event)), sorted(set(event) - EVENT_FIELDS)
        return f"the event's fields are wrong (missing {missing}, unknown {extra})"
    if event["v"] != 1:
        return f"unknown event version {event['v']!r}"
    if event["conversation"] != conversation:
        return "the event names another conversation"
    if not isinstance(event["prev"], str) or not HEX64.fullmatch(event["prev"]):
        return "prev is not 64 hex digits"
    if not isinstance(event["hash"], str) or not HEX64.fullmatch(event["hash"]):
        return "hash is not 64 hex digits"
    if not isinstance(event["body_commit"], str) or not HEX64.fullmatch(event["body_commit"]):
        return "body_commit is not 64 hex digits"
    if not isinstance(event["kind"], str) or not isinstance(event["ts"], str):
        return "kind and ts are strings"
    if event["actor"] is not None and not _is_int(event["actor"]):
        return "actor is an integer or null"
    if not isinstance(event["data"], dict):
        return "data is an object"
    body, salt = event["body"], event["salt"]
    if (body is None) != (salt is None):
        return "body and salt are both given or both null"
    if body is not None and not (
        isinstance(body, str) and isinstance(salt, str) and HEX_EVEN.fullmatch(salt)
    ):
        return "body is text and salt is hex"
    if not isinstance(event["files"], list):
        return "files is a list"
    for entry in event["files"]:
        if not isinstance(entry, dict) or set(entry) != FILE_FIELDS:
            return "a file entry is {sha256, size, name}"
        if not isinstance(entry["sha256"], str) or not HEX64.fullmatch(entry["sha256"]):
            return "a file's sha256 is not 64 hex digits"
        if not _is_int(entry["size"]) or entry["size"] < 0 or not isinstance(entry["name"], str):
            return "a file's size is a whole number and its name a string"
    return None


@dataclass
class _Events:
    hashes: list[str]  # hashes[i] is the hash of seq i + 1
    files: dict[str, int]  # the size of each file that holds, by SHA-256
    withheld: frozenset[str]  # files the manifest says were left out (not checked)
    skipped: set[str]  # withheld files that events name
    hash_only: int
    problem: BundleInvalid | None


def _events_check(
    lines: list[bytes],
    *,
    cut: bool,
    conversation: str,
    archive: zipfile.ZipFile,
    withheld: frozenset[str],
) -> _Events:
    """Walk the events in order; stop at the first that does not hold."""
    walked = _Events(
        hashes=[], files={}, withheld=withheld, skipped=set(), hash_only=0, problem=None
    )
    members = set(archive.namelist())
    for index, line in enumerate(lines):
        seq = index + 1
        if cut and seq == len(lines):
            reason: str | None = f"line {seq} of events.jsonl is cut short (no newline at its end)"
        else:
            reason = _event_problem(line, seq, walked, conversation, archive, members)
        if reason is not None:
            walked.problem = BundleInvalid(seq, reason)
            break
    return walked


def _event_problem(
    line: bytes,
    seq: int,
    walked: _Events,
    conversation: str,
    archive: zipfile.ZipFile,
    members: set[str],
) -> str | None:
    """Why the line at ``seq`` does not hold after the events already walked, or None (and
    then it is added to ``walked``)."""
    try:
        event = _canonical_line(line)
    except ValueError as exc:
        return f"line {seq} of events.jsonl: {exc}"
    if not _is_int(event.get("seq")):
        return "the event has no whole-number seq"
    if event["seq"] > seq:
        return f"seq {seq} is missing (found seq {event['seq']} in its place)"
    if event["seq"] < seq:
        return f"seq {event['seq']} appears again in the place of seq {seq}"
    if problem := _event_shape_problem(event, conversation):
        return problem
    if event["prev"] != (walked.hashes[-1] if walked.hashes else GENESIS_PREV):
        return "prev does not name the event before"
    if event["body"] is not None:
        text = event["body"].encode("utf-8")
        commit = hashlib.sha256(bytes.fromhex(event["salt"]) + text).hexdigest()
        if commit != event["body_commit"]:
            return "the body does not match its commitment"
    for entry in event["files"]:
        digest, named = entry["sha256"], f"file {entry['sha256']} ({entry['name']!r})"
        size = walked.files.get(digest)
        if size is None:
            member = f"files/{digest}"
            if member not in members and digest in walked.withheld:
                walked.skipped.add(digest)
                continue
            if member not in members:
                return f"{named} is missing from the bundle"
            content = archive.read(member)
            if hashlib.sha256(content).hexdigest() != digest:
                return f"{named} does not match its SHA-256"
            size = len(content)
        if size != entry["size"]:
            return f"{named} is not {entry['size']} bytes long"
    try:
        recomputed = event_hash(event)
    except CanonicalError as exc:
        return f"the event has no canonical form ({exc})"
    if recomputed != event["hash"]:
        return "the hash does not recompute"
    walked.hashes.append(event["hash"])
    walked.files.update(
        (entry["sha256"], entry["size"])
        for entry in event["files"]
        if entry["sha256"] not in walked.skipped
    )
    walked.hash_only += event["body"] is None
    return None


def _keys(data: bytes, trusted: dict[str, str] | None) -> dict[str, nacl.signing.VerifyKey]:
    try:
        listed = _json(data)
    except (ValueError, RecursionError) as exc:
        raise BundleInvalid(None, f"keys.json is not valid JSON ({exc})") from exc
    if not isinstance(listed, dict):
        raise BundleInvalid(None, "keys.json is not an object of key id to public key")
    keys: dict[str, nacl.signing.VerifyKey] = {}
    for key_id, public_hex in listed.items():
        try:
            public_key = bytes.fromhex(public_hex)
            if len(public_key) != 32:
                raise ValueError
        except (TypeError, ValueError) as exc:
            raise BundleInvalid(None, f"key {key_id!r} in keys.json is not 32 hex bytes") from exc
        if key_id_of(public_key) != key_id:
            raise BundleInvalid(None, f"key {key_id!r} in keys.json is not the key of that id")
        if trusted is not None and trusted.get(key_id) != public_key.hex():
            raise BundleInvalid(None, f"key {key_id!r} in keys.json is not a trusted key")
        keys[key_id] = nacl.signing.VerifyKey(public_key)
    return keys


def _checkpoint_problems(
    lines: list[bytes],
    *,
    conversation: str,
    keys: dict[str, nacl.signing.VerifyKey],
    hashes: list[str],
    events_complete: bool,
) -> tuple[list[BundleInvalid], list[dict[str, Any]]]:
    """Every checkpoint that does not hold (with the seq it names), and those that do.
    ``hashes`` are the events that hold; ``events_complete`` says whether all of them do."""
    problems: list[BundleInvalid] = []
    good: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            checkpoint = _canonical_line(line)
        except ValueError as exc:
            problems.append(BundleInvalid(None, f"line {number} of checkpoints.jsonl: {exc}"))
            continue
        seq = checkpoint.get("seq")
        if set(checkpoint) != CHECKPOINT_FIELDS or not _is_int(seq) or seq < 1:
            problems.append(BundleInvalid(None, f"checkpoint {number} is malformed"))
            continue

        def bad(reason: str, seq: int = seq, number: int = number) -> None:
            problems.append(BundleInvalid(seq, f"checkpoint {number}: {reason}"))

        if checkpoint["conversation"] != conversation:
            bad("it names another conversation")
            continue
        key = keys.get(checkpoint["key_id"]) if isinstance(checkpoint["key_id"], str) else None
        if key is None:
            bad(f"its key {checkpoint['key_id']!r} is not in keys.json")
            continue
        unsigned = {name: value for name, value in checkpoint.items() if name != "sig"}
        try:
            key.verify(canonical(unsigned), bytes.fromhex(checkpoint["sig"]))
        except (TypeError, ValueError, nacl.exceptions.BadSignatureError):
            bad("its signature does not hold")
            continue
        if seq > len(hashes):
            if events_complete:
                missing = len(hashes) + 1
                problems.append(
                    BundleInvalid(
                        missing, f"seq {missing} is missing: checkpoint {number} signs seq {seq}"
                    )
                )
            continue  # otherwise the event problem, at a lower seq, is the one to report
        if checkpoint["head"] != hashes[seq - 1]:
            bad("its head is not the hash of the event at its seq")
            continue
        good.append(checkpoint)
    return problems, good


def verify_bundle(bundle: bytes, *, trusted: dict[str, str] | None = None) -> Summary:
    """Check a bundle (the zip's bytes); raise ``BundleInvalid`` naming the first bad seq."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(bundle))
        members = set(archive.namelist())
        needed = ["manifest.json", "events.jsonl", "checkpoints.jsonl", "keys.json"]
        if missing := [name for name in needed if name not in members]:
            raise BundleInvalid(None, f"the bundle lacks {', '.join(missing)}")
        return _verify_archive(archive, trusted=trusted)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BundleInvalid(None, f"not a readable zip file ({exc})") from exc


def _verify_archive(archive: zipfile.ZipFile, *, trusted: dict[str, str] | None) -> Summary:
    try:
        manifest = _json(archive.read("manifest.json"))
    except (ValueError, RecursionError) as exc:
        raise BundleInvalid(None, f"manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleInvalid(None, f"manifest.json does not name the format {FORMAT}")
    conversation = manifest.get("conversation")
    head = manifest.get("head")
    if not isinstance(conversation, str) or not isinstance(head, dict):
        raise BundleInvalid(None, "manifest.json names no conversation or head")
    keys = _keys(archive.read("keys.json"), trusted)

    lines, cut = _lines(archive.read("events.jsonl"))
    if not lines:
        raise BundleInvalid(1, "seq 1 is missing: events.jsonl holds no event")
    withheld = manifest.get("withheld_files", [])
    if not isinstance(withheld, list) or not all(isinstance(d, str) for d in withheld):
        raise BundleInvalid(None, "manifest.json: withheld_files is a list of SHA-256 digests")
    walked = _events_check(
        lines,
        cut=cut,
        conversation=conversation,
        archive=archive,
        withheld=frozenset(withheld),
    )
    problems = [walked.problem] if walked.problem else []
    holds_to = len(walked.hashes)

    checkpoint_lines, checkpoints_cut = _lines(archive.read("checkpoints.jsonl"))
    if checkpoints_cut:
        problems.append(BundleInvalid(None, "checkpoints.jsonl is cut short"))
    bad_checkpoints, good = _checkpoint_problems(
        checkpoint_lines,
        conversation=conversation,
        keys=keys,
        hashes=walked.hashes,
        events_complete=walked.problem is None,
    )
    problems.extend(bad_checkpoints)
    if walked.problem is None:
        head_seq = head.get("seq")
        if head_seq != holds_to or head.get("hash") != walked.hashes[-1]:
            if isinstance(head_seq, int) and not isinstance(head_seq, bool) and head_seq > holds_to:
                problems.append(
                    BundleInvalid(
                        holds_to + 1,
                        f"seq {holds_to + 1} is missing: the manifest's head is seq {head_seq}",
                    )
                )
            else:
                problems.append(
                    BundleInvalid(holds_to, "the manifest's head is not the last event")
                )
        # Only when nothing else is wrong: a checkpoint or a manifest beyond the last event
        # says the tail is missing, which is the better reason.
        if not problems and not any(checkpoint["seq"] == holds_to for checkpoint in good):
            problems.append(BundleInvalid(holds_to, "no checkpoint signs the last event"))
    if problems:
        # The first bad seq; a problem of the bundle as a whole (no seq) comes first.
        raise min(problems, key=lambda problem: -1 if problem.seq is None else problem.seq)
    signed_last = tuple(sorted({c["key_id"] for c in good if c["seq"] == holds_to}))
    return Summary(
        conversation=conversation,
        events=holds_to,
        head_hash=walked.hashes[-1],
        checkpoints=len(good),
        files=len(walked.files),
        withheld_files=len(walked.skipped),
        hash_only=walked.hash_only,
        keys={key_id: bytes(key).hex() for key_id, key in keys.items()},
        last_signed_by=signed_last,
    )


# -- command line -----------------------------------------------------------------------------


def _trusted(values: Sequence[str]) -> dict[str, str] | None:
    if not values:
        return None
    trusted = {}
    for value in values:
        key_id, _, public_hex = value.partition(":")
        trusted[key_id] = public_hex.lower()
    return trusted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chatbox.evidence", description="Verify a chatbox evidence bundle offline."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check a bundle (zip)")
    verify.add_argument("bundle", help="the evidence bundle, a .zip file")
    verify.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="KEY_ID:HEX",
        help="a platform signing key to trust; given, only these keys may sign",
    )
    args = parser.parse_args(argv)
    try:
        with open(args.bundle, "rb") as handle:
            bundle = handle.read()
    except OSError as exc:
        print(f"INVALID: cannot read {args.bundle}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        summary = verify_bundle(bundle, trusted=_trusted(args.trust))
    except BundleInvalid as problem:
        where = f"first bad seq {problem.seq}: " if problem.seq is not None else ""
        print(f"INVALID: {where}{problem.reason}")
        return 1
    print(
        f"OK: conversation {summary.conversation}: {summary.events} events "
        f"(seq 1..{summary.events}, {summary.hash_only} hash-only), head {summary.head_hash}, "
        f"{summary.files} files ({summary.withheld_files} withheld, not checked), "
        f"{summary.checkpoints} checkpoints; the last event is signed by "
        f"{', '.join(summary.last_signed_by)}."
    )
    keys_from = "given with --trust" if args.trust else "taken from the bundle itself"
    print(f"Signing keys ({keys_from}; compare them with the platform's published keys):")
    for key_id, public_hex in sorted(summary.keys.items()):
        print(f"  {key_id}  {public_hex}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
