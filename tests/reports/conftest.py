from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
MARKER = b"PLAINTEXT-MARKER-5d1c"
# The smallest headers the sniffer knows, and a marker that must never be stored in the clear.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16 + MARKER
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16 + MARKER
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + MARKER + b"\n%%EOF\n"


@pytest.fixture
def staff(db: None) -> User:
    """Support staff with a TOTP authenticator (allauth.mfa's own model)."""
    member = UserFactory(username="sam", display_name="Sam Support", is_support=True)
    TOTP.activate(member, TOTP_SECRET)
    return member


@pytest.fixture
def staff_client(staff: User) -> Client:
    client = Client()
    client.force_login(staff)
    return client
