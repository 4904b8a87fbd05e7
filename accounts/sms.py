"""Sending text messages: one function, ``send_sms``, through the backend named by
``settings.SMS_BACKEND`` (a dotted path to a class with ``send(*, to, text)``).

The default console backend logs the message; a real provider is another class behind the
same interface. Codes travel only in ``text``: nothing else here logs them.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SMSBackend(Protocol):
    def send(self, *, to: str, text: str) -> None: ...


class ConsoleSMSBackend:
    """Development backend: the message goes to the log, nowhere else."""

    def send(self, *, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to, text)


class OutboxSMSBackend:
    """Test backend: keeps sent messages in ``OutboxSMSBackend.outbox``."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, to: str, text: str) -> None:
        self.outbox.append((to, text))


def send_sms(*, to: str, text: str) -> None:
    backend: SMSBackend = import_string(settings.SMS_BACKEND)()
    backend.send(to=to, text=text)
