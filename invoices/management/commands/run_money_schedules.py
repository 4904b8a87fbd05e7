"""``run_money_schedules``: what Celery beat runs, once, for the embedded default."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from invoices.schedules import escrow_returns_run, invoices_auto_release, invoices_remind
from invoices.services import refunds_pending_send


class Command(BaseCommand):
    help = "Remind and auto-release due invoices, return escrow after withdrawals, send refunds."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        reminded = invoices_remind(now=now)
        paid = invoices_auto_release(now=now)
        returned = escrow_returns_run(now=now)
        resent = refunds_pending_send()
        self.stdout.write(
            f"{reminded} invoices reminded, {paid} paid automatically, "
            f"escrow returned on {returned} contracts, {resent} pending refunds sent."
        )
