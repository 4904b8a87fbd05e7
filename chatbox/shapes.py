"""The viewer's form of an event, with nothing to read from the database: the ``MESSAGE``
shape of PROTOCOL.md §3, contact details masked as PROTOCOL.md §4 says, cautions on a buyer's
text. ``chatbox.presenters`` applies it to stored events, the send path to events it has just
stored (PROTOCOL.md §3's live ``message`` frames leave the writer ready-made)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chatbox import contacts
from chatbox.canonical import rfc3339
from chatbox.cautions import buyer_cautions
from chatbox.display import render_html
from chatbox.models import Conversation, Event

# Contact details hidden until a contract is funded. A plain link (a portfolio, a reference) is
# detected but shown: PROTOCOL.md §4 hides messenger links, which the detector reports as
# handles, not the web.
CONTACT_KINDS = frozenset(
    {contacts.Kind.PHONE, contacts.Kind.EMAIL, contacts.Kind.HANDLE, contacts.Kind.PAYMENT}
)


def masked_kinds(conversation: Conversation) -> frozenset[contacts.Kind]:
    """What is hidden in the conversation now: contact details until a contract on it is
    funded, off-platform payment details always."""
    if conversation.contacts_unlocked_at is None:
        return CONTACT_KINDS
    return frozenset({contacts.Kind.PAYMENT})


def payload_spans(payload: dict[str, Any]) -> list[contacts.Span]:
    """The contact details sealed with a payload (``[[start, end, kind], …]``)."""
    return [
        contacts.Span(start, end, contacts.Kind(kind))
        for start, end, kind in payload.get("spans", [])
    ]


def text_masked(
    payload: dict[str, Any], hide: frozenset[contacts.Kind]
) -> tuple[str, str, list[dict[str, Any]]]:
    """The body and HTML a viewer sees: the spans of hidden kinds replaced by placeholders (the
    HTML made again from the masked text), and what was replaced."""
    body: str = payload.get("body", "")
    html: str = payload["html"] if "html" in payload else render_html(body) if body else ""
    spans = payload_spans(payload)
    if not any(span.kind in hide for span in spans):
        return body, html, []
    masked, redactions = contacts.mask(body, spans, kinds=hide)
    return masked, render_html(masked), redactions


def sender_cautions(payload: dict[str, Any], sender: User | None) -> list[str]:
    """What a provider should be careful about in a buyer's message (``chatbox.cautions``)."""
    if sender is None or not payload.get("body"):
        return []
    return buyer_cautions(payload["body"], sender, payload_spans(payload))


def message_shape(
    *,
    event: Event,
    body: str,
    html: str,
    data: dict[str, Any],
    redactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "conversation": str(event.conversation_id),
        "seq": event.seq,
        "kind": event.kind,
        "sender": {"id": event.sender.pk, "name": event.sender.name} if event.sender else None,
        "body": body,
        "html": html,
        "created_at": rfc3339(event.created_at),
        "client_id": str(event.client_id) if event.client_id else None,
        "hash": event.hash,
        "prev": event.prev,
        "redactions": redactions or [],
        "data": data,
    }


def text_message_present(
    *,
    event: Event,
    payload: dict[str, Any],
    hide: frozenset[contacts.Kind],
    from_buyer: bool,
) -> dict[str, Any]:
    """A text message as every member sees it the moment it is stored: not edited, deleted,
    hidden or redacted yet (``chatbox.presenters`` shows those states on a later read)."""
    data = dict(event.data)
    if from_buyer and (cautions := sender_cautions(payload, event.sender)):
        data["cautions"] = cautions
    body, html, redactions = text_masked(payload, hide)
    return message_shape(event=event, body=body, html=html, data=data, redactions=redactions)
