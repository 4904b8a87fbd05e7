"""Celery tasks of the chat: they take ids, are idempotent, and call services."""

from __future__ import annotations

from celery import shared_task

from chatbox import files, services


@shared_task
def file_previews_make(file_id: str) -> None:
    """Make a sent file's preview and thumbnail; a file gone or done already is skipped."""
    files.file_previews_make(file_id=file_id)


@shared_task
def connections_expire() -> int:
    """Announce offline the users whose sockets died with their process (presence TTL)."""
    return services.connections_expire()
