"""Events as a viewer sees them: the ``MESSAGE`` shape of PROTOCOL.md §3, with contact details
masked as PROTOCOL.md §4 says; and the whole record as support staff read it in a case file."""

from __future__ import annotations

import uuid
from typing import Any

from chatbox.canonical import rfc3339
from chatbox.display import render_html
from chatbox.files import file_message_data
from chatbox.models import Conversation, Event, Participant
from chatbox.services import data_keys, event_payload
from chatbox.shapes import masked_kinds, message_shape, sender_cautions, text_masked

HIDDEN_BY_SUPPORT = "This message was hidden by support."
REMOVED_BY_SUPPORT = "This message was removed by support."
DESTROYED = "This conversation's record was destroyed at the end of its retention period."


def messages_present(*, conversation_id: uuid.UUID, events: list[Event]) -> list[dict[str, Any]]:
    """Decrypt and present ``events``, each with the current state of what it shows.

    A text message that was edited shows its latest text with ``data.edited``; one that was
    deleted shows nothing with ``data.deleted``; one support hid shows a notice with
    ``data.hidden``; one support removed (``chatbox.redaction``) a notice with
    ``data.redacted``. Contact details are replaced by placeholders and listed in
    ``redactions`` (PROTOCOL.md §4). The record itself keeps every version, unmasked.
    A conversation shredded at the end of retention shows each event's facts with a notice
    and ``data.shredded``: no key opens its texts any more.
    """
    if not events:
        return []
    conversation = Conversation.objects.only("contacts_unlocked_at", "shredded_at").get(
        pk=conversation_id
    )
    if conversation.shredded_at is not None:
        return [
            message_shape(
                event=event,
                body=DESTROYED,
                html=render_html(DESTROYED),
                data={**event.data, "shredded": True},
            )
            for event in events
        ]
    keys = data_keys(conversation_id=conversation_id)
    hide = masked_kinds(conversation)
    buyers = set(
        Participant.objects.filter(
            conversation_id=conversation_id, role=Participant.Role.BUYER
        ).values_list("user_id", flat=True)
    )
    targets = {e.seq for e in events if e.kind == Event.Kind.TEXT}
    targets |= {e.target_seq for e in events if e.kind == Event.Kind.EDIT and e.target_seq}
    latest_edit: dict[int, Event] = {}
    deleted: set[int] = set()
    for follow_up in Event.objects.filter(
        conversation_id=conversation_id,
        target_seq__in=targets,
        kind__in=[Event.Kind.EDIT, Event.Kind.DELETE],
    ).order_by("seq"):
        assert follow_up.target_seq is not None
        if follow_up.kind == Event.Kind.DELETE:
            deleted.add(follow_up.target_seq)
        else:
            latest_edit[follow_up.target_seq] = follow_up

    presented = []
    for event in events:
        payload = event_payload(event=event, keys=keys)
        data = dict(event.data)
        if event.kind == Event.Kind.TEXT and event.seq in deleted:
            payload, data["deleted"] = {}, True
        elif event.kind == Event.Kind.TEXT and event.seq in latest_edit:
            edit = latest_edit[event.seq]
            payload = event_payload(event=edit, keys=keys)
            data.update(edited=True, edited_at=rfc3339(edit.created_at), edit_seq=edit.seq)
        elif event.kind == Event.Kind.EDIT and event.target_seq in deleted:
            payload, data["deleted"] = {}, True
        if event.redacted_at is not None and not data.get("deleted"):
            payload, data["redacted"] = {"body": REMOVED_BY_SUPPORT}, True
        elif event.hidden_at is not None:
            payload, data["hidden"] = {"body": HIDDEN_BY_SUPPORT}, True
        elif event.sender_id in buyers and (cautions := sender_cautions(payload, event.sender)):
            data["cautions"] = cautions
        if event.kind == Event.Kind.FILE and event.hidden_at is None and not event.redacted_at:
            data.update(file_message_data(event=event, payload=payload))
        body, html, redactions = text_masked(payload, hide)
        presented.append(
            message_shape(event=event, body=body, html=html, data=data, redactions=redactions)
        )
    return presented


def record_present(*, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The whole record, unmasked, for a support case file: every event in ``seq`` order with
    the text it was sent with (edits and deletions are their own events naming ``target_seq``;
    a hidden message is marked, not left out; a redacted one has no text left). Callers log
    the read first. A shredded conversation's record has its facts and no texts."""
    shredded = Conversation.objects.filter(pk=conversation_id, shredded_at__isnull=False).exists()
    keys = {} if shredded else data_keys(conversation_id=conversation_id)
    record = []
    events = Event.objects.filter(conversation_id=conversation_id).select_related("sender")
    for event in events.order_by("seq"):
        payload = {} if shredded else event_payload(event=event, keys=keys)
        record.append(
            {
                "seq": event.seq,
                "kind": event.kind,
                "sender": {"id": event.sender.pk, "name": event.sender.name}
                if event.sender
                else None,
                "body": payload.get("body") or "",
                "target_seq": event.target_seq,
                "data": event.data,
                "created_at": rfc3339(event.created_at),
                "hidden": event.hidden_at is not None,
                "redacted": event.redacted_at is not None,
                "shredded": shredded,
                "contact_details": [kind for _, _, kind in payload.get("spans", [])],
                "hash": event.hash,
            }
        )
    return record
