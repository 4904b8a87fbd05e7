"""What opening and closing a socket read and write (``services.connection_open`` and
``connection_close``), in one round trip each on PostgreSQL.

After a restart every client of a process reconnects at once, and each set-up waits on the
process's one database thread (docs/performance.md, the reconnect storm). Through the ORM an
open was seven waits for PostgreSQL (the user's row, BEGIN, the stale rows' DELETE, an
EXISTS, the INSERT, the user's conversations, COMMIT) and a close five. Here an open is one
query string of several statements (``batch_store.together``), which PostgreSQL runs as one
transaction when none is open (a simple query of several statements is atomic) or inside
the caller's; a close is one statement. SQLite goes through the ORM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from accounts.models import User
from chatbox.batch_store import instances, select_sql, together
from chatbox.models import Connection, Participant


@dataclass(frozen=True)
class Opened:
    user: User | None  # as stored now; None when the account is gone
    was_online: bool  # a fresh socket of the user was open already
    conversation_ids: list[uuid.UUID]  # the user's conversations (read when a socket opened)


@dataclass(frozen=True)
class Closed:
    user_id: int
    still_online: bool  # another fresh socket of the user is open
    conversation_ids: list[uuid.UUID]


def socket_open(*, user_id: int, channel_name: str, now: datetime, fresh_after: datetime) -> Opened:
    """Read the user; unless they are gone or banned, forget their sockets last seen before
    ``fresh_after`` (a crashed server never removed them) and record this one."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            user = User.objects.filter(pk=user_id).first()
            if user is None or user.is_banned:
                return Opened(user=user, was_online=False, conversation_ids=[])
            Connection.objects.filter(user_id=user_id, seen_at__lt=fresh_after).delete()
            was_online = Connection.objects.filter(user_id=user_id).exists()
            Connection.objects.create(channel_name=channel_name, user=user, seen_at=now)
            return Opened(
                user=user, was_online=was_online, conversation_ids=conversation_ids_of(user_id)
            )
    banned = User.Standing.BANNED.value
    users, _, online, recorded, conversations = together(
        [
            (select_sql(User, None, "id = %s"), [user_id]),
            (
                """DELETE FROM chatbox_connection
                    WHERE user_id = %s AND seen_at < %s
                      AND EXISTS (SELECT 1 FROM accounts_user WHERE id = %s AND standing <> %s)""",
                [user_id, fresh_after, user_id, banned],
            ),
            ("SELECT EXISTS (SELECT 1 FROM chatbox_connection WHERE user_id = %s)", [user_id]),
            (
                """INSERT INTO chatbox_connection (channel_name, user_id, connected_at, seen_at)
                   SELECT %s, id, %s, %s FROM accounts_user WHERE id = %s AND standing <> %s
                RETURNING user_id""",
                [channel_name, now, now, user_id, banned],
            ),
            ("SELECT conversation_id FROM chatbox_participant WHERE user_id = %s", [user_id]),
        ]
    )
    user = next(instances(User, None, users), None)
    if not recorded:
        return Opened(user=user, was_online=False, conversation_ids=[])
    return Opened(
        user=user, was_online=online[0][0], conversation_ids=[row[0] for row in conversations]
    )


def socket_close(*, channel_name: str, fresh_after: datetime) -> Closed | None:
    """Forget a socket; None if it was not recorded (or is forgotten already)."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            row = Connection.objects.filter(channel_name=channel_name).first()
            if row is None:
                return None
            row.delete()
            still_online = Connection.objects.filter(
                user_id=row.user_id, seen_at__gte=fresh_after
            ).exists()
            return Closed(
                user_id=row.user_id,
                still_online=still_online,
                conversation_ids=[] if still_online else conversation_ids_of(row.user_id),
            )
    # One statement: its parts see the table as it was before the DELETE, hence the
    # ``channel_name <>`` in the EXISTS.
    rows = together(
        [
            (
                """WITH gone AS (DELETE FROM chatbox_connection WHERE channel_name = %s
                                 RETURNING user_id)
                   SELECT gone.user_id,
                          EXISTS (SELECT 1 FROM chatbox_connection AS c
                                   WHERE c.user_id = gone.user_id AND c.seen_at >= %s
                                     AND c.channel_name <> %s),
                          ARRAY(SELECT conversation_id FROM chatbox_participant AS p
                                 WHERE p.user_id = gone.user_id)
                     FROM gone""",
                [channel_name, fresh_after, channel_name],
            )
        ]
    )[0]
    if not rows:
        return None
    user_id, still_online, conversation_ids = rows[0]
    return Closed(
        user_id=user_id,
        still_online=still_online,
        conversation_ids=[] if still_online else list(conversation_ids),
    )


def conversation_ids_of(user_id: int) -> list[uuid.UUID]:
    """The conversations ``user_id`` takes part in."""
    return list(
        Participant.objects.filter(user_id=user_id).values_list("conversation_id", flat=True)
    )
