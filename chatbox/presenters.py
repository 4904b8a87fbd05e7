"""Events as a viewer sees them: the ``MESSAGE`` shape of PROTOCOL.md §3."""

from __future__ import annotations

import uuid
from typing import Any

from chatbox.canonical import rfc3339
from chatbox.models import Event
from chatbox.services import data_keys, event_payload


def messages_present(*, conversation_id: uuid.UUID, events: list[Event]) -> list[dict[str, Any]]:
    """Decrypt and present ``events``, each with the current state of what it shows.

    A text message that was edited shows its latest text with ``data.edited``; one that was
    deleted shows nothing with ``data.deleted``. The record itself keeps every version.
    """
    if not events:
        return []
    keys = data_keys(conversation_id=conversation_id)
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
        body, html, data = payload["body"], payload["html"], dict(event.data)
        if event.kind == Event.Kind.TEXT and event.seq in deleted:
            body, html, data["deleted"] = "", "", True
        elif event.kind == Event.Kind.TEXT and event.seq in latest_edit:
            edit = latest_edit[event.seq]
            edited = event_payload(event=edit, keys=keys)
            body, html = edited["body"], edited["html"]
            data.update(edited=True, edited_at=rfc3339(edit.created_at), edit_seq=edit.seq)
        elif event.kind == Event.Kind.EDIT and event.target_seq in deleted:
            body, html, data["deleted"] = "", "", True
        presented.append(message_shape(event=event, body=body, html=html, data=data))
    return presented


def message_shape(*, event: Event, body: str, html: str, data: dict[str, Any]) -> dict[str, Any]:
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
        "redactions": [],
        "data": data,
    }
