"""Celery tasks of the money schedules: no arguments, idempotent (``invoices.schedules``)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from invoices import schedules, services


@shared_task
def invoices_remind() -> int:
    return schedules.invoices_remind(now=timezone.now())


@shared_task
def invoices_auto_release() -> int:
    return schedules.invoices_auto_release(now=timezone.now())


@shared_task
def escrow_returns_run() -> int:
    return schedules.escrow_returns_run(now=timezone.now())


@shared_task
def refunds_pending_send() -> int:
    return services.refunds_pending_send()
