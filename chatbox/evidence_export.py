"""The evidence bundle of a conversation (PROTOCOL.md §5), built from the record.

Exporting first signs the conversation's head (a checkpoint), then writes every event up to
that head, so the last event of a bundle is always signed. ``chatbox.evidence`` verifies the
result offline.

What a party's bundle leaves out, and how it still verifies (docs/evidence.md):

- the text of another member's message whose contact details are hidden in the conversation
  now (PROTOCOL.md §4), and of a message support hid from view: such events are *hash-only*
  (``body`` and ``salt`` null, ``body_commit`` kept) — the chain hashes the text only through
  its commitment, so they verify all the same;
- the bytes of a sample file the exporter has not paid for yet: listed under
  ``withheld_files`` in the manifest, which the verifier reports instead of checking.

Support staff exporting for an open case (``reports``) get everything.
"""

from __future__ import annotations

import html
import io
import json
import logging
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from chatbox import checkpoints, contacts, signing
from chatbox.canonical import canonical, rfc3339
from chatbox.errors import ApplicationError, ErrorCode
from chatbox.evidence import FORMAT
from chatbox.files import file_bytes, file_locked_for
from chatbox.models import ChatFile, Checkpoint, Conversation, Event, Participant
from chatbox.selectors import membership
from chatbox.services import data_keys, event_document, event_payload
from chatbox.shapes import masked_kinds

logger = logging.getLogger(__name__)

# The members who may export a conversation's evidence themselves: its parties. A support
# member of a conversation (a mediator) exports through the case, audited.
PARTY_ROLES = frozenset(
    {Participant.Role.BUYER, Participant.Role.PROVIDER, Participant.Role.MEMBER}
)
EVENTS_CHUNK = 500


@dataclass(frozen=True)
class EvidenceBundle:
    conversation_id: uuid.UUID
    head_seq: int
    content: bytes

    @property
    def filename(self) -> str:
        return f"evidence-{self.conversation_id}-seq{self.head_seq}.zip"


@dataclass(frozen=True)
class _Viewer:
    """Who the bundle is for: a party sees what the conversation shows them; support, all."""

    user: User
    role: str
    full: bool


def conversation_for_party(*, user: User, conversation_id: uuid.UUID | str) -> Conversation:
    """The conversation, for one of its parties; ``not_found`` / ``not_member`` otherwise."""
    participant = membership(user=user, conversation_id=conversation_id)
    if participant.role not in PARTY_ROLES:
        raise ApplicationError(
            ErrorCode.NOT_MEMBER, "Only the parties export a conversation's evidence here."
        )
    return participant.conversation


def evidence_export_for_party(*, user: User, conversation_id: uuid.UUID | str) -> EvidenceBundle:
    conversation = conversation_for_party(user=user, conversation_id=conversation_id)
    role = Participant.objects.get(conversation=conversation, user=user).role
    return _export(conversation.pk, _Viewer(user=user, role=str(role), full=False))


def evidence_export_for_staff(*, staff: User, conversation_id: uuid.UUID) -> EvidenceBundle:
    """The whole bundle. Precondition: the caller checked the staff member's case and wrote
    the audit record (``reports`` does both)."""
    return _export(conversation_id, _Viewer(user=staff, role="support", full=True))


def _export(conversation_id: uuid.UUID, viewer: _Viewer) -> EvidenceBundle:
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.shredded_at is not None:
        raise ApplicationError(
            ErrorCode.GONE,
            "This conversation's record was destroyed at the end of its retention period.",
        )
    signed = checkpoints.conversation_checkpoint(conversation_id=conversation_id)
    head_seq = signed.seq
    events: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    withheld: set[str] = set()
    for event, document in _documents(conversation, head_seq, viewer):
        events.append(document)
        for entry in document["files"]:
            if entry["sha256"] in files or entry["sha256"] in withheld:
                continue
            content = _file_content(event, viewer)
            if content is None:
                withheld.add(entry["sha256"])
            else:
                files[entry["sha256"]] = content
    if len(events) != head_seq:
        raise RuntimeError(f"conversation {conversation_id} has a gap below seq {head_seq}")

    public = signing.public_keys()
    signatures = [
        checkpoints.checkpoint_document(checkpoint)
        for checkpoint in Checkpoint.objects.filter(
            conversation_id=conversation_id, seq__lte=head_seq
        ).order_by("seq", "key_id")
        if checkpoint.key_id in public
    ]
    manifest = {
        "format": FORMAT,
        "conversation": str(conversation_id),
        "exported_at": rfc3339(timezone.now()),
        "exported_by": {"id": viewer.user.pk, "username": viewer.user.username, "as": viewer.role},
        "head": {"seq": head_seq, "hash": events[-1]["hash"]},
        **({"withheld_files": sorted(withheld)} if withheld else {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        archive.writestr("events.jsonl", b"".join(canonical(doc) + b"\n" for doc in events))
        archive.writestr(
            "checkpoints.jsonl", b"".join(canonical(doc) + b"\n" for doc in signatures)
        )
        archive.writestr(
            "keys.json",
            json.dumps({c["key_id"]: public[c["key_id"]] for c in signatures}, indent=2) + "\n",
        )
        for digest, content in sorted(files.items()):
            archive.writestr(f"files/{digest}", content)
        archive.writestr("transcript.html", _transcript(conversation, events, manifest))
    return EvidenceBundle(
        conversation_id=conversation_id, head_seq=head_seq, content=buffer.getvalue()
    )


def _documents(
    conversation: Conversation, head_seq: int, viewer: _Viewer
) -> Iterator[tuple[Event, dict[str, Any]]]:
    """Each event up to ``head_seq`` as PROTOCOL.md §5 writes it, in seq order."""
    keys = data_keys(conversation_id=conversation.pk)
    hidden_kinds = {str(kind) for kind in masked_kinds(conversation)}
    rows = Event.objects.filter(conversation=conversation, seq__lte=head_seq).order_by("seq")
    for event in rows.iterator(chunk_size=EVENTS_CHUNK):
        payload = event_payload(event=event, keys=keys)
        body, salt = payload.get("body"), payload.get("salt")
        if not viewer.full and _withheld_text(event, payload, viewer, hidden_kinds):
            body = salt = None
        document = event_document(
            conversation_id=conversation.pk,
            seq=event.seq,
            prev=event.prev,
            kind=event.kind,
            actor=event.sender_id,
            ts=rfc3339(event.created_at),
            body=body,
            salt=salt,
            body_commit=event.body_commit,
            files=payload.get("files", []),
            data=event.data,
        )
        yield event, {**document, "hash": event.hash}


def _withheld_text(
    event: Event, payload: dict[str, Any], viewer: _Viewer, hidden_kinds: set[str]
) -> bool:
    """Whether a party's bundle shows this event hash-only: another member's text that the
    conversation hides from them (contact details), or that support hid from view."""
    if event.sender_id == viewer.user.pk:
        return False
    if event.hidden_at is not None:
        return True
    return any(str(contacts.Kind(kind)) in hidden_kinds for _, _, kind in payload.get("spans", []))


def _file_content(event: Event, viewer: _Viewer) -> bytes | None:
    """The decrypted bytes of the file of ``event``, or None when the viewer may not have them
    (a sample they have not paid for), or when nobody may (support removed it)."""
    if event.redacted_at is not None:
        return None
    chat_file = ChatFile.objects.select_related("event").get(event=event)
    if not viewer.full and file_locked_for(chat_file=chat_file, user=viewer.user):
        return None
    return file_bytes(chat_file)


# -- the transcript: for people, not for verification -----------------------------------------


def _when(ts: str) -> str:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")


def _transcript(
    conversation: Conversation, events: list[dict[str, Any]], manifest: dict[str, Any]
) -> str:
    names = {
        user.pk: f"{user.name} (@{user.username})"
        for user in User.objects.filter(participations__conversation=conversation)
    }
    actors = {doc["actor"] for doc in events if doc["actor"] is not None} - set(names)
    names.update({user.pk: user.name for user in User.objects.filter(pk__in=actors)})
    rows = []
    for doc in events:
        sender = "System" if doc["actor"] is None else names.get(doc["actor"], f"#{doc['actor']}")
        if doc["body"] is None:
            text = '<em class="hash-only">Text withheld (hash only): its commitment is kept.</em>'
        else:
            text = html.escape(doc["body"])
        files = "".join(
            f"<li>{html.escape(entry['name'])} — {entry['size']} bytes, "
            f"<code>files/{entry['sha256']}</code></li>"
            for entry in doc["files"]
        )
        data = html.escape(json.dumps(doc["data"], ensure_ascii=False, sort_keys=True))
        rows.append(
            f'<tr id="seq-{doc["seq"]}"><td>{doc["seq"]}</td><td>{_when(doc["ts"])}</td>'
            f"<td>{html.escape(sender)}</td><td>{html.escape(doc['kind'])}</td>"
            f'<td class="text">{text}{f"<ul>{files}</ul>" if files else ""}</td>'
            f"<td><code>{data}</code></td></tr>"
        )
    title = html.escape(conversation.title)
    head = manifest["head"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Transcript: {title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .3em .5em; vertical-align: top; text-align: left; }}
td.text {{ white-space: pre-wrap; }}
.note {{ background: #fff6d5; padding: .6em 1em; border: 1px solid #e6c200; }}
</style></head><body>
<h1>Transcript: {title}</h1>
<p class="note">This transcript is <strong>informative only and not verified</strong>. It is
made from the same events as <code>events.jsonl</code>; the evidence is that file, checked with
<code>python -m chatbox.evidence verify</code> against the signed checkpoints.</p>
<p>Conversation <code>{html.escape(manifest["conversation"])}</code>, {len(events)} events,
head seq {head["seq"]} <code>{head["hash"]}</code>,
exported {html.escape(manifest["exported_at"])}.</p>
<table><thead><tr><th>seq</th><th>time</th><th>sender</th><th>kind</th><th>text</th>
<th>data</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
