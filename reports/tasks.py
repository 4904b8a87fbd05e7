"""Celery tasks of trust and safety's schedules: no arguments, idempotent."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from reports import disputes, retention, risk


@shared_task
def disputes_deadlines_run() -> int:
    """Escalate, or resolve by default, each dispute whose stage window has passed
    (``reports.disputes.disputes_deadlines_run``)."""
    return disputes.disputes_deadlines_run(now=timezone.now())


@shared_task
def risk_scan_run() -> int:
    """Queue every user whose fraud score reached the threshold (``reports.risk``)."""
    return risk.risk_scan_run(now=timezone.now())


@shared_task
def retention_run() -> dict[str, int]:
    """Close the conversations whose work is over, shred those past retention
    (``reports.retention``)."""
    done = retention.retention_run(now=timezone.now())
    return {"closed": done.closed, "shredded": done.shredded}
