"""Bundles for the evidence tests: conversations grown fast, and zips taken apart and put back."""

from __future__ import annotations

import io
import zipfile

from django.db import transaction

from accounts.models import User
from chatbox.evidence import BundleInvalid, Summary, verify_bundle
from chatbox.evidence_export import evidence_export_for_party
from chatbox.models import Conversation, Event
from chatbox.services import _append


def append_many(conversation: Conversation, senders: list[User], count: int) -> None:
    """``count`` text events through the real append, in one transaction (fast)."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        for number in range(count):
            _append(
                conversation=locked,
                kind=Event.Kind.TEXT,
                sender=senders[number % len(senders)],
                body=f'message {number} — ünïcödé "quoted" <b>tag</b>\n\ttab',
            )


def bundle_for(user: User, conversation: Conversation) -> bytes:
    return evidence_export_for_party(user=user, conversation_id=conversation.pk).content


def members(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(bundle: bytes, **changes: bytes | None) -> bytes:
    """The bundle with members replaced (``events_jsonl=…`` names ``events.jsonl``; a ``/`` is
    written ``__``); None removes the member."""
    contents = members(bundle)
    for key, value in changes.items():
        name = key.replace("__", "/").replace("_jsonl", ".jsonl").replace("_json", ".json")
        if value is None:
            contents.pop(name)
        else:
            contents[name] = value
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in contents.items():
            archive.writestr(name, content)
    return out.getvalue()


def event_lines(bundle: bytes) -> list[bytes]:
    return members(bundle)["events.jsonl"].splitlines(keepends=True)


def refusal(bundle: bytes, **kwargs: object) -> BundleInvalid:
    """The verifier's refusal; fails the test when the bundle holds."""
    try:
        summary: Summary = verify_bundle(bundle, **kwargs)  # type: ignore[arg-type]
    except BundleInvalid as problem:
        return problem
    raise AssertionError(f"the bundle was accepted: {summary}")
