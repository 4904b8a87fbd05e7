"""Administrators review the evidence log in the Django admin, read-only."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client

from reports.models import EvidenceAccess
from tests.factories import UserFactory
from tests.reports.conftest import TOTP_SECRET

pytestmark = pytest.mark.django_db


def test_administrators_read_the_evidence_log_and_cannot_change_it() -> None:
    # given an administrator with MFA, and a logged read
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    TOTP.activate(admin, TOTP_SECRET)
    reader = UserFactory(username="sam", is_support=True)
    access = EvidenceAccess.objects.create(
        staff=reader, what="conversation", object_id="c-1", why="A report of spam"
    )
    client = Client()
    client.force_login(admin)
    # when they open the log and the row
    listing = client.get("/admin/reports/evidenceaccess/")
    row = client.get(f"/admin/reports/evidenceaccess/{access.pk}/change/")
    # then they see it, and no form saves or deletes it
    assert listing.status_code == 200
    assert "A report of spam" in listing.content.decode()
    assert row.status_code == 200
    assert 'name="_save"' not in row.content.decode()
    deleted = client.post(f"/admin/reports/evidenceaccess/{access.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert EvidenceAccess.objects.filter(pk=access.pk).exists()
