"""Fraud signals: a per-user risk score from documented signals, and the scan that puts users
above the threshold into the support queue (docs/trust-and-safety.md).

Each signal counts over the last ``RISK_WINDOW_DAYS`` and has a weight; a signal's points are
capped so one noisy kind cannot carry a score alone. The score is computed from the record
every time (nothing is cached): contact or off-platform payment attempts (sent and drafted),
reports received, a new or unverified account raising a large invoice, the same text sent into
many conversations, and failed payments. Many accounts on one device or address would count
too, but the platform does not record devices or addresses, so that signal is not known here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from chatbox.models import ContactAttempt, Event
from invoices.models import GatewayOperation, Invoice
from reports.models import Case, Reason, Report

RISK_WINDOW_DAYS = 30
NEW_ACCOUNT_DAYS = 7
LARGE_INVOICE_MINOR = 100_000  # 1,000.00 in the invoice's currency
SAME_TEXT_CONVERSATIONS = 3  # the same text in this many conversations or more


@dataclass(frozen=True)
class Signal:
    kind: str
    label: str
    weight: int
    cap: int


SIGNALS = {
    s.kind: s
    for s in (
        Signal("contact_sent", "Sent contact or payment details that were hidden", 10, 40),
        Signal("contact_drafted", "Drafted contact or payment details", 3, 15),
        Signal("reported", "Reported by another member", 15, 45),
        Signal("large_invoice_new", "New or unverified account raised a large invoice", 25, 25),
        Signal("same_text", "Sent the same text into many conversations", 20, 20),
        Signal("payment_failed", "A payment failed", 5, 20),
    )
}


@dataclass(frozen=True)
class RiskScore:
    user_id: int
    counts: dict[str, int]

    @property
    def points(self) -> dict[str, int]:
        return {
            kind: min(count * SIGNALS[kind].weight, SIGNALS[kind].cap)
            for kind, count in self.counts.items()
            if count
        }

    @property
    def score(self) -> int:
        return sum(self.points.values())


def _since(now: datetime) -> datetime:
    return now - timedelta(days=RISK_WINDOW_DAYS)


def risk_of(*, user_ids: Iterable[int], now: datetime | None = None) -> dict[int, RiskScore]:
    """The risk score of each user, with what it is made of."""
    ids = set(user_ids)
    now = now or timezone.now()
    since = _since(now)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SIGNALS, 0))
    attempts = (
        ContactAttempt.objects.filter(user_id__in=ids, at__gte=since)
        .values("user_id", "sent")
        .annotate(n=Count("pk"))
    )
    for row in attempts:
        counts[row["user_id"]]["contact_sent" if row["sent"] else "contact_drafted"] += row["n"]
    reported = (
        Report.objects.filter(case__subject_id__in=ids, created_at__gte=since)
        .values("case__subject_id")
        .annotate(n=Count("reporter", distinct=True))
    )
    for subject in reported:
        counts[subject["case__subject_id"]]["reported"] += subject["n"]
    for user_id in _large_invoices_of_new_accounts(ids, since=since, now=now):
        counts[user_id]["large_invoice_new"] += 1
    for user_id in _same_text_senders(ids, since=since):
        counts[user_id]["same_text"] += 1
    failed = (
        GatewayOperation.objects.filter(
            buyer_id__in=ids,
            kind=GatewayOperation.Kind.CHARGE,
            state=GatewayOperation.State.FAILED,
            created_at__gte=since,
        )
        .values("buyer_id")
        .annotate(n=Count("pk"))
    )
    for buyer in failed:
        counts[buyer["buyer_id"]]["payment_failed"] += buyer["n"]
    return {user_id: RiskScore(user_id=user_id, counts=dict(counts[user_id])) for user_id in ids}


def risk_scores(*, user_ids: Iterable[int]) -> dict[int, int]:
    return {user_id: risk.score for user_id, risk in risk_of(user_ids=user_ids).items()}


def _large_invoices_of_new_accounts(ids: set[int], *, since: datetime, now: datetime) -> set[int]:
    large = Invoice.objects.filter(
        contract__provider_id__in=ids, issued_at__gte=since, total__gte=LARGE_INVOICE_MINOR
    ).select_related("contract__provider")
    flagged = set()
    for invoice in large:
        provider = invoice.contract.provider
        new = provider.date_joined >= invoice.issued_at - timedelta(days=NEW_ACCOUNT_DAYS)
        unverified = provider.id_verified_at is None
        if new or unverified:
            flagged.add(provider.pk)
    return flagged


def _same_text_senders(ids: set[int], *, since: datetime) -> set[int]:
    """Senders of one text (by its keyed fingerprint: never the text) into many
    conversations."""
    repeated = (
        Event.objects.filter(
            sender_id__in=ids, kind=Event.Kind.TEXT, created_at__gte=since, fingerprint__gt=""
        )
        .values("sender_id", "fingerprint")
        .annotate(n=Count("conversation", distinct=True))
        .filter(n__gte=SAME_TEXT_CONVERSATIONS)
    )
    return {row["sender_id"] for row in repeated}


def _users_with_signals(*, since: datetime) -> set[int]:
    ids: set[int] = set(
        ContactAttempt.objects.filter(at__gte=since).values_list("user_id", flat=True)
    )
    ids |= set(
        Report.objects.filter(created_at__gte=since).values_list("case__subject_id", flat=True)
    )
    ids |= set(
        Invoice.objects.filter(issued_at__gte=since, total__gte=LARGE_INVOICE_MINOR).values_list(
            "contract__provider_id", flat=True
        )
    )
    ids |= set(
        Event.objects.filter(created_at__gte=since, kind=Event.Kind.TEXT)
        .exclude(fingerprint="")
        .values("sender_id", "fingerprint")
        .annotate(n=Count("conversation", distinct=True))
        .filter(n__gte=SAME_TEXT_CONVERSATIONS)
        .values_list("sender_id", flat=True)
    )
    ids |= set(
        GatewayOperation.objects.filter(
            created_at__gte=since, state=GatewayOperation.State.FAILED
        ).values_list("buyer_id", flat=True)
    )
    return {user_id for user_id in ids if user_id is not None}


def risk_scan_run(*, now: datetime) -> int:
    """Put every user whose score reaches ``RISK_SCORE_THRESHOLD`` into the support queue: one
    open ``risk`` case each. Idempotent; returns how many cases it opened."""
    scores = risk_of(user_ids=_users_with_signals(since=_since(now)), now=now)
    opened = 0
    for user_id, risk in scores.items():
        if risk.score < settings.RISK_SCORE_THRESHOLD:
            continue
        try:
            with transaction.atomic():
                Case.objects.create(
                    kind=Case.Kind.RISK,
                    target_type=Case.TargetType.USER,
                    target_key=f"risk:{user_id}",
                    subject=User.objects.get(pk=user_id),
                    reason=Reason.SCAM,
                )
        except IntegrityError:  # an open risk case exists already
            continue
        opened += 1
    return opened
