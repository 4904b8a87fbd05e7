"""Retention of conversations (docs/retention.md): which close, which are shredded, which are
held. ``retention_run`` is a scheduled task (Celery beat, or ``manage.py run_schedules``).

A conversation closes when its work is over — no active contract, no invoice waiting, nothing
left in its contracts' escrow, its listing no longer open — and nobody wrote in it for
``CHATBOX_CLOSE_IDLE_DAYS``. A closed conversation is crypto-shredded
(``chatbox.retention.conversation_shred``) ``CHATBOX_RETENTION_DAYS`` after it closed.

A legal hold stops both while it lasts: an open case on the conversation (a report, a help
request, a dispute's case), a dispute on one of its contracts not yet resolved, or a
``LegalHold`` an operator placed. A hold released later lets the schedule go on from there.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from chatbox.errors import ApplicationError, ErrorCode
from chatbox.models import Conversation
from chatbox.retention import conversation_close, conversation_shred
from invoices.models import Invoice
from invoices.services import escrow_available
from projects.listings import text_check
from projects.models import Contract, Project
from reports.models import Case, Dispute, LegalHold

logger = logging.getLogger(__name__)

CLOSED_NOTICE = (
    "This conversation is closed: the work is over and it has been quiet for {days} days. "
    "It stays readable, and either party can still export its evidence, until its record is "
    "destroyed {retention} days from now, unless a report or a dispute holds it."
)
WHY_MAX = 2000


def held(conversation_id: uuid.UUID) -> bool:
    """Whether a legal hold keeps the conversation: an open case on it, a dispute on one of
    its contracts not yet resolved, or an operator's hold in place."""
    open_case = Case.objects.filter(conversation_id=conversation_id, status=Case.Status.OPEN)
    open_dispute = Dispute.objects.filter(
        contract__engagement__conversation_id=conversation_id
    ).exclude(stage=Dispute.Stage.RESOLVED)
    placed = LegalHold.objects.filter(conversation_id=conversation_id, released_at__isnull=True)
    return open_case.exists() or open_dispute.exists() or placed.exists()


def _work_over(conversation: Conversation) -> bool:
    """No active contract, no invoice waiting on the buyer or a dispute, no money in escrow."""
    contracts = list(Contract.objects.filter(engagement__conversation=conversation))
    if any(contract.state == Contract.State.ACTIVE for contract in contracts):
        return False
    waiting = Invoice.objects.filter(
        contract__in=contracts, state__in=[Invoice.State.ISSUED, Invoice.State.DISPUTED]
    )
    if waiting.exists():
        return False
    return all(escrow_available(contract) == 0 for contract in contracts)


def conversations_close_run(*, now: datetime) -> int:
    """Close every conversation whose work is over and that has been idle long enough."""
    idle_days = settings.CHATBOX_CLOSE_IDLE_DAYS
    candidates = (
        Conversation.objects.filter(closed_at__isnull=True, engagement__isnull=False)
        .exclude(engagement__project__status=Project.Status.OPEN)
        .exclude(engagement__contracts__state=Contract.State.ACTIVE)
        .alias(quiet_since=Coalesce("last_activity_at", "created_at"))
        .filter(quiet_since__lt=now - timedelta(days=idle_days))
        .order_by("created_at")
    )
    closed = 0
    for conversation in candidates.iterator():
        if held(conversation.pk) or not _work_over(conversation):
            continue
        notice = CLOSED_NOTICE.format(days=idle_days, retention=settings.CHATBOX_RETENTION_DAYS)
        closed += conversation_close(conversation_id=conversation.pk, body=notice)
    return closed


def conversations_shred_run(*, now: datetime) -> int:
    """Shred every conversation closed longer than the retention period and not held."""
    due = Conversation.objects.filter(
        shredded_at__isnull=True,
        closed_at__lt=now - timedelta(days=settings.CHATBOX_RETENTION_DAYS),
    ).order_by("closed_at")
    shredded = 0
    for conversation_id in due.values_list("pk", flat=True).iterator():
        if held(conversation_id):
            continue
        if conversation_shred(conversation_id=conversation_id):
            logger.info("retention: conversation %s shredded", conversation_id)
            shredded += 1
    return shredded


@dataclass(frozen=True)
class RetentionRun:
    closed: int
    shredded: int


def retention_run(*, now: datetime) -> RetentionRun:
    return RetentionRun(
        closed=conversations_close_run(now=now), shredded=conversations_shred_run(now=now)
    )


# -- an operator's holds ------------------------------------------------------------------------


@transaction.atomic
def legal_hold_place(*, conversation_id: uuid.UUID | str, why: str, by: str) -> LegalHold:
    """Keep a conversation past retention until the hold is released."""
    key = _uuid(conversation_id)
    conversation = Conversation.objects.filter(pk=key).first() if key else None
    if conversation is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such conversation.")
    if conversation.shredded_at is not None:
        raise ApplicationError(ErrorCode.GONE, "This conversation was already shredded.")
    why = text_check(why, field="why", max_length=WHY_MAX, missing="Say why it is held.")
    return LegalHold.objects.create(conversation=conversation, why=why, placed_by=by)


@transaction.atomic
def legal_hold_release(*, hold_id: int, by: str) -> LegalHold:
    hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such legal hold.")
    if hold.released_at is not None:
        raise ApplicationError(ErrorCode.CLOSED, "This legal hold was already released.")
    hold.released_at, hold.released_by = timezone.now(), by
    hold.save(update_fields=["released_at", "released_by"])
    return hold


def _uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def holds_in_place() -> list[LegalHold]:
    return list(LegalHold.objects.filter(released_at__isnull=True).select_related("conversation"))
