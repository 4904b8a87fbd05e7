"""Starting and stopping the servers under test, each as production would run it.

- ``ours``: ``python -m config.serve`` (daphne) with ``config.asgi``, DEBUG off, PostgreSQL
  (``DATABASE_URL``) and Redis (``REDIS_URL``), state under ``var/bench/ours``.
- ``naive``: daphne with ``bench.baselines.naive.asgi``, its own PostgreSQL database, Redis.
- ``bare``: ``python -m bench.baselines.bare``, a ``websockets`` relay.
- ``floor``: ``python -m config.serve`` like ours (the same daphne options, ``gc_tune``) with
  ``bench.baselines.floor.asgi``: daphne, Channels and channels-redis's pub/sub layer, no
  product code, no database.

Each server is one process; the load process is another (``bench.load``).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
LISTENING = re.compile(r"Listening on TCP address [\d.]+:(\d+)")
START_TIMEOUT = 60.0
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASES = {"ours": "chatbox_bench", "naive": "chatbox_bench_naive"}
# The product's per-user send budget (20 per 10 s) would refuse a closed-loop sender after a
# second: it is lifted, not removed, so every send still pays for the check in Redis.
OURS_SEND_RATE = "1000000/10"
KINDS = ("ours", "naive", "bare", "floor")


def database_url(kind: str) -> str:
    return f"{PG_URL}/{DATABASES[kind]}"


def database_recreate(name: str) -> None:
    """Drop and create a PostgreSQL database for the bench (never one the bench did not name)."""
    import psycopg

    assert name in DATABASES.values()
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def server_env(kind: str) -> dict[str, str]:
    env = {**os.environ, "DEBUG": "0", "REDIS_URL": REDIS_URL, "PYTHONUNBUFFERED": "1"}
    if kind == "ours":
        env |= {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url("ours"),
            "DATA_DIR": str(VAR / "ours"),
            "KEY_PREFIX": "chatbox-bench",
            "CHATBOX_SEND_RATE": OURS_SEND_RATE,
        }
    elif kind == "naive":
        env |= {
            "DJANGO_SETTINGS_MODULE": "bench.baselines.naive.settings",
            "DATABASE_URL": database_url("naive"),
        }
    elif kind == "floor":
        env |= {"DJANGO_SETTINGS_MODULE": "bench.baselines.floor.settings"}
    return env


def fixtures_make(kind: str, *, pairs: dict[str, int], idle: int, out: Path) -> None:
    """A fresh database with the bench's users, conversations and sessions (bench.fixtures)."""
    database_recreate(DATABASES[kind])
    if kind == "ours":
        shutil.rmtree(VAR / "ours", ignore_errors=True)
        (VAR / "ours").mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fixtures",
            "--project",
            kind,
            "--pairs",
            *(f"{name}={count}" for name, count in pairs.items()),
            "--idle",
            str(idle),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=server_env(kind),
        check=True,
    )


def _command(kind: str, port: int) -> list[str]:
    if kind == "bare":
        return [sys.executable, "-m", "bench.baselines.bare", "--port", str(port)]
    # The floor runs under ours' daphne (config.serve: the same options and gc_tune), so that
    # the difference between the two is the product's code alone.
    module = "daphne" if kind == "naive" else "config.serve"
    application = {
        "ours": "config.asgi:application",
        "naive": "bench.baselines.naive.asgi:application",
        "floor": "bench.baselines.floor.asgi:application",
    }[kind]
    return [
        sys.executable,
        "-m",
        module,
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "--websocket-max-message-size",
        "262144",
        application,
    ]


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[str]
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_start(kind: str, *, port: int = 0) -> Server:
    """Start a server and return once it listens (``port`` 0: any free port)."""
    process = subprocess.Popen(
        _command(kind, port),
        cwd=ROOT,
        env=server_env(kind),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            output.append(line)
            if len(output) > 2000:  # keep the start and the end, not every line of a run
                del output[200:1000]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            process.kill()
            raise RuntimeError(f"{kind} did not start:\n" + "".join(output)) from None
        if line is None:
            raise RuntimeError(f"{kind} exited:\n" + "".join(output))
        if match := LISTENING.search(line):
            return Server(kind=kind, process=process, port=int(match.group(1)), output=output)


def redis_pid() -> int | None:
    """The Redis server's pid, as it reports it (the bench's Redis runs on this machine)."""
    import redis

    try:
        info = redis.Redis.from_url(REDIS_URL).info("server")
    except redis.RedisError:
        return None
    return int(info["process_id"])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for package in (
        "Django",
        "channels",
        "channels-redis",
        "daphne",
        "websockets",
        "PyNaCl",
        "bleach",
        "psycopg",
        "redis",
        "Twisted",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    try:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres") as connection:
            row = connection.execute("SHOW server_version").fetchone()
            found["postgresql"] = str(row[0]) if row else "?"
    except psycopg.Error:
        found["postgresql"] = "unreachable"
    import redis

    try:
        found["redis-server"] = str(redis.Redis.from_url(REDIS_URL).info("server")["redis_version"])
    except redis.RedisError:
        found["redis-server"] = "unreachable"
    return found
