"""``rotate_master_key``: re-wrap every data key (conversations', sealed files') with a new
master key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from chatbox.services import data_keys_rewrap, sealed_files_rewrap
from config import secrets as local_secrets


class Command(BaseCommand):
    help = (
        "Put a new master key first in the ring and re-wrap every data key with it. With "
        "CHATBOX_MASTER_KEYS set, the operator puts the new key first there; this re-wraps."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.CHATBOX_MASTER_KEYS_FROM_ENV:
            ring = [local_secrets.new_master_key(), *settings.CHATBOX_MASTER_KEYS]
            local_secrets.write_master_key_ring(settings.KEYS_DIR, ring)
            settings.CHATBOX_MASTER_KEYS = ring
            self.stdout.write(f"New master key {ring[0]['id']} written to the key ring.")
        conversations = data_keys_rewrap()
        files = sealed_files_rewrap()
        primary = settings.CHATBOX_MASTER_KEYS[0]["id"]
        self.stdout.write(
            f"Re-wrapped {conversations} conversation data keys and {files} file data keys "
            f"with master key {primary}."
        )
