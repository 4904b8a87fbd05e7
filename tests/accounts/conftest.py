from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.sms import OutboxSMSBackend


@pytest.fixture
def sms_outbox(settings: SettingsWrapper) -> Iterator[list[tuple[str, str]]]:
    """Text messages sent during the test, as (to, text)."""
    settings.SMS_BACKEND = "accounts.sms.OutboxSMSBackend"
    OutboxSMSBackend.outbox = []
    yield OutboxSMSBackend.outbox
    OutboxSMSBackend.outbox = []
