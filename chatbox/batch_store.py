"""What a group commit reads and writes (``services.messages_send``), in few round trips.

A batch reads five things before it appends (the conversations, locked; their participants;
the senders; events already stored under a repeated ``client_id``; the data keys) and writes
three (the new events, the conversations' heads, the senders' read marks). None of the reads
needs another's result, and none of the writes, so on PostgreSQL each group goes out as one
query of several statements: they still run one after another inside the transaction, in
this order (the lock first), but the process waits for PostgreSQL twice instead of eight
times. The statements' shape is fixed, whatever the batch's size: rows travel as arrays
(``= ANY``, ``unnest``), as Django's own ``bulk_create`` does on PostgreSQL.

Elsewhere (SQLite, for development and the fast test pass) the same reads and writes go
through the ORM, one statement each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from accounts.models import User
from chatbox.models import Conversation, ConversationKey, Event, Participant

# What the checks, the frames and the cautions read of a sender, and no more.
SENDER_FIELDS = (
    "id",
    "display_name",
    "username",
    "standing",
    "suspended_until",
    "date_joined",
    "phone_verified_at",
    "id_verified_at",
)
PARTICIPANT_FIELDS = ("id", "conversation_id", "user_id", "role", "last_read_seq")

M = TypeVar("M", bound=Model)
StoredKey = tuple[uuid.UUID, int | None, uuid.UUID | None]


@dataclass
class BatchRead:
    """What a batch needs to know before it appends."""

    conversations: dict[uuid.UUID, Conversation]  # locked until the transaction ends
    participants: dict[tuple[uuid.UUID, int], Participant]
    senders: dict[int, User]
    stored: dict[StoredKey, Event]  # by (conversation, sender, client_id)
    keys: dict[tuple[uuid.UUID, int], ConversationKey]  # by (conversation, version)


def batch_read(
    *, conversation_ids: set[uuid.UUID], sender_ids: set[int], client_ids: set[uuid.UUID]
) -> BatchRead:
    """Lock the conversations (in id order, so that two processes' batches never wait on each
    other in a circle) and read the rest. Call inside the batch's transaction."""
    conversations: Iterable[Conversation]
    participants: Iterable[Participant]
    senders: Iterable[User]
    events: Iterable[Event]
    keys: Iterable[ConversationKey]
    if connection.vendor == "postgresql":
        conversation_list = list(conversation_ids)
        rows = together(
            [
                (
                    select_sql(Conversation, None, "id = ANY(%s) ORDER BY id FOR UPDATE"),
                    [conversation_list],
                ),
                (
                    select_sql(Participant, PARTICIPANT_FIELDS, "conversation_id = ANY(%s)"),
                    [conversation_list],
                ),
                (select_sql(User, SENDER_FIELDS, "id = ANY(%s)"), [list(sender_ids)]),
                (
                    select_sql(Event, None, "conversation_id = ANY(%s) AND client_id = ANY(%s)"),
                    [conversation_list, list(client_ids)],
                ),
                (
                    select_sql(ConversationKey, None, "conversation_id = ANY(%s)"),
                    [conversation_list],
                ),
            ]
        )
        conversations = instances(Conversation, None, rows[0])
        participants = instances(Participant, PARTICIPANT_FIELDS, rows[1])
        senders = instances(User, SENDER_FIELDS, rows[2])
        events = instances(Event, None, rows[3])
        keys = instances(ConversationKey, None, rows[4])
    else:
        conversations = (
            Conversation.objects.select_for_update().filter(pk__in=conversation_ids).order_by("pk")
        )
        participants = Participant.objects.filter(conversation_id__in=conversation_ids).only(
            *PARTICIPANT_FIELDS
        )
        senders = User.objects.filter(pk__in=sender_ids).only(*SENDER_FIELDS)
        events = Event.objects.filter(
            conversation_id__in=conversation_ids, client_id__in=client_ids
        )
        keys = ConversationKey.objects.filter(conversation_id__in=conversation_ids)
    return BatchRead(
        conversations={conversation.pk: conversation for conversation in conversations},
        participants={(p.conversation_id, p.user_id): p for p in participants},
        senders={user.pk: user for user in senders},
        stored={(e.conversation_id, e.sender_id, e.client_id): e for e in events},
        keys={(key.conversation_id, key.version): key for key in keys},
    )


def batch_write(
    *,
    events: Sequence[Event],
    heads: Sequence[tuple[Conversation, int]],
    readers: Sequence[Participant],
) -> None:
    """Insert ``events`` (setting their ids), move the heads of ``heads`` — ``(conversation,
    head_seq it was read at)``, each conditional on that, so a second writer that got past the
    row lock fails here — and write the ``last_read_seq`` of ``readers``."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events)
        moved = sum(
            Conversation.objects.filter(pk=conversation.pk, head_seq=before).update(
                head_seq=conversation.head_seq,
                head_hash=conversation.head_hash,
                last_activity_at=conversation.last_activity_at,
            )
            for conversation, before in heads
        )
        for participant in readers:
            Participant.objects.filter(pk=participant.pk).update(
                last_read_seq=participant.last_read_seq
            )
    else:
        statements = [
            _event_insert(events),
            (
                """UPDATE chatbox_conversation AS c
                      SET head_seq = v.head_seq, head_hash = v.head_hash,
                          last_activity_at = v.last_activity_at
                     FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::text[],
                                 %s::timestamptz[])
                          AS v(id, before, head_seq, head_hash, last_activity_at)
                    WHERE c.id = v.id AND c.head_seq = v.before
                RETURNING c.id""",
                [
                    [conversation.pk for conversation, _ in heads],
                    [before for _, before in heads],
                    [conversation.head_seq for conversation, _ in heads],
                    [conversation.head_hash for conversation, _ in heads],
                    [conversation.last_activity_at for conversation, _ in heads],
                ],
            ),
        ]
        if readers:
            statements.append(
                (
                    """UPDATE chatbox_participant AS p SET last_read_seq = v.seq
                         FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, seq)
                        WHERE p.id = v.id""",
                    [[p.pk for p in readers], [p.last_read_seq for p in readers]],
                )
            )
        inserted, updated, *_ = together(statements)
        ids = {(conversation_id, seq): pk for pk, conversation_id, seq in inserted}
        for event in events:
            event.pk = ids[(event.conversation_id, event.seq)]
            event._state.adding, event._state.db = False, connection.alias
        moved = len(updated)
    if moved != len(heads):
        raise RuntimeError("a conversation's head moved while locked")


def together(statements: Sequence[tuple[str, list[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in order in one round trip; the rows each returned (none for a
    statement without RETURNING). One query string of several statements, through Django's
    cursor (client-side binding puts the parameters in the text): one message to PostgreSQL
    and one answer, where pipeline mode sends and polls for each statement (each system call
    costs about as much CPU here as a statement's own work, docs/performance.md)."""
    with connection.cursor() as cursor:
        cursor.execute(
            ";\n".join(sql for sql, _ in statements),
            [param for _, params in statements for param in params],
        )
        rows: list[list[tuple[Any, ...]]] = []
        while True:
            rows.append(cursor.fetchall() if cursor.description else [])
            if not cursor.nextset():
                return rows


def _concrete(model: type[Model], only: Iterable[str] | None) -> list[Any]:
    """The model's concrete fields in their declared order (``Model.from_db`` needs that),
    all or those named in ``only``."""
    wanted = None if only is None else set(only)
    return [f for f in model._meta.concrete_fields if wanted is None or f.attname in wanted]


@cache
def select_sql(model: type[Model], only: tuple[str, ...] | None, where: str) -> str:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _concrete(model, only))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE {where}"  # noqa: S608 (model metadata, no input)


def instances(
    model: type[M], only: tuple[str, ...] | None, rows: Iterable[tuple[Any, ...]]
) -> Iterator[M]:
    """Model instances from the rows of ``select_sql(model, only, …)``, converted as the ORM
    converts them (a JSON column arrives as text, for instance); fields not read are
    deferred."""
    attnames, converters = _reading(model, only)
    for row in rows:
        values = list(row)
        for index, converter, column in converters:
            values[index] = converter(values[index], column, connection)
        yield model.from_db(connection.alias, attnames, values)


@cache
def _reading(
    model: type[Model], only: tuple[str, ...] | None
) -> tuple[list[str], list[tuple[int, Any, Any]]]:
    """What ``instances`` needs of a model, worked out once: the attribute names read, and
    each column's converters (index, converter, column)."""
    fields = _concrete(model, only)
    converters = [
        (index, converter, field.cached_col)
        for index, field in enumerate(fields)
        for converter in field.get_db_converters(connection)
    ]
    return [f.attname for f in fields], converters


@cache
def _event_columns() -> tuple[list[Any], str]:
    """Every column of an event but its id, and the INSERT … SELECT FROM unnest of them."""
    fields = [f for f in _concrete(Event, None) if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Without a type's parameters, as bulk_create does: varchar[] rather than varchar(64)[].
    arrays = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    table = connection.ops.quote_name(Event._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) RETURNING id, conversation_id, seq"  # noqa: S608, E501 (model metadata, no input)
    return fields, sql


def _event_insert(events: Sequence[Event]) -> tuple[str, list[Any]]:
    """The INSERT of ``events`` with one array per column, each value prepared for the
    database as ``bulk_create`` prepares it."""
    fields, sql = _event_columns()
    return sql, [
        [field.get_db_prep_save(field.pre_save(event, add=True), connection) for event in events]
        for field in fields
    ]
