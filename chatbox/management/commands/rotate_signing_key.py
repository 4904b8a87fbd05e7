"""``rotate_signing_key``: put a new Ed25519 checkpoint key first in the ring; the old keys
stay, so the checkpoints they signed still verify."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import secrets as local_secrets


class Command(BaseCommand):
    help = (
        "Write a new checkpoint signing key first in the embedded ring; older keys are kept for "
        "verification. With CHATBOX_SIGNING_KEYS set, the operator puts a new key first there."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.CHATBOX_SIGNING_KEYS_FROM_ENV:
            raise CommandError(
                "CHATBOX_SIGNING_KEYS is set: put the new key first there, keep the old ones."
            )
        ring = [local_secrets.new_signing_key(), *settings.CHATBOX_SIGNING_KEYS]
        local_secrets.write_signing_key_ring(settings.KEYS_DIR, ring)
        settings.CHATBOX_SIGNING_KEYS = ring
        self.stdout.write(
            f"New signing key {ring[0]['id']} signs from now on; {len(ring) - 1} older kept."
        )
