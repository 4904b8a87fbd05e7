"""Real daphne processes serving the app against the test database."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Listening on TCP address [\d.]+:(\d+)")
START_TIMEOUT = 60


def test_database_url() -> str:
    """The URL of the database this test run uses, for a server in another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@dataclass
class LiveServer:
    process: subprocess.Popen[str]
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    @property
    def origin(self) -> str:
        return self.url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_daphne(*, extra_env: dict[str, str] | None = None) -> LiveServer:
    """Start ``daphne`` on a free port and return once it says it listens."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0",
         "--websocket_max_message_size", "262144", "config.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            process.kill()
            raise RuntimeError("daphne did not start:\n" + "".join(output)) from None
        if line is None:
            raise RuntimeError("daphne exited:\n" + "".join(output))
        if match := LISTENING.search(line):
            return LiveServer(process=process, port=int(match.group(1)), output=output)


def running_daphne(*, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    server = start_daphne(extra_env=extra_env)
    try:
        yield server
    finally:
        server.stop()
