"""``run_schedules``: what Celery beat runs (``CELERY_BEAT_SCHEDULE``), once, for the
embedded default: the money schedules, the disputes' deadlines, the fraud-risk scan and
retention. It lives in ``reports``, the app that builds on all the others."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from chatbox.services import connections_expire
from invoices.schedules import escrow_returns_run, invoices_auto_release, invoices_remind
from invoices.services import refunds_pending_send
from reports.disputes import disputes_deadlines_run
from reports.retention import retention_run
from reports.risk import risk_scan_run


class Command(BaseCommand):
    help = (
        "Remind and auto-release due invoices, return escrow after withdrawals, send refunds, "
        "act on disputes past their deadline, queue users at the fraud-risk threshold, and close "
        "and shred conversations as retention says, and announce offline the users whose sockets "
        "died with their process."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        reminded = invoices_remind(now=now)
        paid = invoices_auto_release(now=now)
        returned = escrow_returns_run(now=now)
        disputed = disputes_deadlines_run(now=now)
        resent = refunds_pending_send()
        risky = risk_scan_run(now=now)
        kept = retention_run(now=now)
        offline = connections_expire()
        self.stdout.write(
            f"{reminded} invoices reminded, {paid} paid automatically, "
            f"escrow returned on {returned} contracts, {disputed} disputes past their deadline, "
            f"{resent} pending refunds sent, {risky} users queued for fraud risk, "
            f"{kept.closed} conversations closed and {kept.shredded} shredded, "
            f"{offline} users announced offline."
        )
