"""The bench's data, made in a process of its own before a server starts.

``python -m bench.fixtures --project ours|naive --pairs NAME=COUNT … --idle N --out FILE``
migrates the (freshly created) database named by ``DATABASE_URL``, creates the users, their
1:1 conversations (for ours through ``chatbox.services.conversation_open``, as the marketplace
opens them) and a signed-in session per user, and writes what the load process needs as JSON:

    {"cookie": "sessionid", "sets": {NAME: [{"conversation": ID,
      "a": {"user": ID, "session": KEY}, "b": {…}}, …]}, "idle": [{"user": ID, "session": KEY}]}

Sessions are written straight to the session store, as ``django.contrib.auth.login`` leaves
them: signing in a few thousand users through the HTTP API would measure password hashing.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import django


def _sessions(users: list[Any]) -> list[str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store = SessionStore()
    expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    rows = [
        Session(
            session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
            session_data=store.encode(
                {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
            ),
            expire_date=expire,
        )
        for user in users
    ]
    Session.objects.bulk_create(rows, batch_size=1000)
    return [row.session_key for row in rows]


def _users(prefix: str, count: int, *, project: str) -> list[Any]:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    users = []
    for index in range(count):
        user = model(username=f"{prefix}{index}")
        if project == "ours":
            user.is_buyer = index % 2 == 0
            user.is_provider = index % 2 == 1
        # Unusable: nobody signs in with a password here, and hashing one costs ~50 ms each.
        user.set_unusable_password()
        users.append(user)
    return model.objects.bulk_create(users, batch_size=1000)


def _conversation(project: str, title: str, buyer: Any, provider: Any) -> str:
    if project == "naive":
        return str(uuid.uuid4())  # a tutorial's room is just a name
    from chatbox.models import Participant
    from chatbox.services import Member, conversation_open

    conversation = conversation_open(
        title=title,
        members=[
            Member(buyer, Participant.Role.BUYER),
            Member(provider, Participant.Role.PROVIDER),
        ],
    )
    return str(conversation.pk)


def build(project: str, pairs: dict[str, int], idle: int) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    sets: dict[str, list[dict[str, Any]]] = {}
    for name, count in pairs.items():
        users = _users(f"{name}-", 2 * count, project=project)
        sessions = _sessions(users)
        sets[name] = [
            {
                "conversation": _conversation(
                    project, f"bench {name} {index}", users[2 * index], users[2 * index + 1]
                ),
                "a": {"user": users[2 * index].pk, "session": sessions[2 * index]},
                "b": {"user": users[2 * index + 1].pk, "session": sessions[2 * index + 1]},
            }
            for index in range(count)
        ]
    idle_users = _users("idle-", idle, project=project)
    idle_sessions = _sessions(idle_users)
    return {
        "cookie": settings.SESSION_COOKIE_NAME,
        "sets": sets,
        "idle": [
            {"user": user.pk, "session": session}
            for user, session in zip(idle_users, idle_sessions, strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", choices=["ours", "naive"], required=True)
    parser.add_argument("--pairs", nargs="*", default=[], help="NAME=COUNT of 1:1 conversations")
    parser.add_argument("--idle", type=int, default=0, help="users for the idle sockets")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE",
        "config.settings" if args.project == "ours" else "bench.baselines.naive.settings",
    )
    django.setup()
    pairs = {name: int(count) for name, count in (item.split("=", 1) for item in args.pairs)}
    args.out.write_text(json.dumps(build(args.project, pairs, args.idle)))


if __name__ == "__main__":
    main()
