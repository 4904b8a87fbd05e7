"""``run_money_schedules``: what Celery beat runs, once, for the embedded default."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from invoices.schedules import escrow_returns_run, invoices_auto_release, invoices_remind


class Command(BaseCommand):
    help = "Remind and auto-release due invoices, and return escrow after withdrawals (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        reminded = invoices_remind(now=now)
        paid = invoices_auto_release(now=now)
        returned = escrow_returns_run(now=now)
        self.stdout.write(
            f"{reminded} invoices reminded, {paid} paid automatically, "
            f"escrow returned on {returned} contracts."
        )
