"""``seed_demo``: the demo people, project and conversation of PROTOCOL.md §1. Idempotent."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from projects.models import Project
from projects.services import engagement_open, project_create

DEMO_USERS: dict[str, dict[str, Any]] = {
    "buyer": {"display_name": "Bea Buyer", "is_buyer": True},
    "provider": {"display_name": "Pat Provider", "is_provider": True},
    "support": {"display_name": "Sam Support", "is_support": True, "is_staff": True},
    "outsider": {"display_name": "Otto Outsider"},
}
DEMO_PROJECT = "Logo and brand kit for a bakery"


class Command(BaseCommand):
    help = "Create the demo users, project and conversation (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", help="Set every demo user's password to this.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["password"]
        users: dict[str, dict[str, Any]] = {}
        with transaction.atomic():
            for username, fields in DEMO_USERS.items():
                user, created = User.objects.get_or_create(username=username, defaults=fields)
                password = wanted or (secrets.token_urlsafe(9) if created else None)
                if password:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                users[username] = {"id": user.pk, "username": username, "password": password}
            buyer = User.objects.get(username="buyer")
            project = Project.objects.filter(buyer=buyer, title=DEMO_PROJECT).first()
            if project is None:
                project = project_create(
                    buyer=buyer,
                    title=DEMO_PROJECT,
                    description="A logo, colours and a simple brand kit.",
                )
        engagement = engagement_open(
            project=project, provider=User.objects.get(username="provider")
        )
        result: dict[str, Any] = {
            "users": users,
            "project": {"id": project.pk},
            "conversation": {"id": str(engagement.conversation_id)},
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write("Demo accounts (sign in at the web app):")
        for username, credentials in users.items():
            shown = credentials["password"] or "(unchanged; rerun with --password to set one)"
            self.stdout.write(f"  {username:<9} password: {shown}")
        self.stdout.write(f"Demo conversation: /conversations/{engagement.conversation_id}/")
