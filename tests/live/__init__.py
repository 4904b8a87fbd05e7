"""Real daphne processes serving the app against the test database, and real clients of them.

This package holds the end-to-end tests too (``tests/live/test_*.py``); as a package it would
hide a module ``tests/live.py``, so the launcher lives here and ``from tests.live import …``
keeps working.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent.parent
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
    if connection.vendor == "sqlite":
        # This process reads what the server writes to the same file: start from a fresh
        # connection, not one that has lived through the whole run's writes.
        connection.close()
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # A server keeps its connections as in production (the test process does not:
        # tests/run_services_pass.py).
        "DATABASE_CONN_MAX_AGE": "600",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.serve",
            "-b",
            "127.0.0.1",
            "-p",
            "0",
            "--websocket-max-message-size",
            "262144",
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=env,
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


# -- several servers -------------------------------------------------------------------------


def running_daphnes(
    count: int, *, extra_env: dict[str, str] | None = None
) -> Iterator[list[LiveServer]]:
    """``count`` daphne processes on the same test database, started side by side; all are
    stopped afterwards, also when one of them fails to start."""
    # Computed here: in the starting threads ``connection`` would be another thread's wrapper.
    env = {"DATABASE_URL": test_database_url(), **(extra_env or {})}
    with ExitStack() as stop_all:
        with ThreadPoolExecutor(max_workers=count) as pool:
            starts = [pool.submit(start_daphne, extra_env=env) for _ in range(count)]
        for start in starts:
            if start.exception() is None:
                stop_all.callback(start.result().stop)
        servers = [start.result() for start in starts]  # raises the first failure to start
        try:
            yield servers
        finally:
            sys.stderr.write(server_log(*servers))  # pytest shows it when the test fails


def server_log(*servers: LiveServer) -> str:
    """What the servers wrote to stderr: worth printing when a live test fails."""
    return "\n".join(f"--- daphne :{server.port}\n{''.join(server.output)}" for server in servers)


# -- HTTP clients ----------------------------------------------------------------------------

HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any
    cookies: dict[str, str]


def http_request(
    server: LiveServer,
    method: str,
    path: str,
    *,
    body: Any = None,
    cookies: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One request with the standard library, JSON in and out (no proxy, no cookie jar)."""
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    request_headers = dict(headers or {})
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    answer = http_exchange(
        client, method, path, body=payload, cookies=cookies, headers=request_headers
    )
    if isinstance(answer.body, bytes):
        try:
            decoded: Any = json.loads(answer.body) if answer.body else None
        except json.JSONDecodeError:
            decoded = answer.body.decode(errors="replace")
        return HttpAnswer(status=answer.status, body=decoded, cookies=answer.cookies)
    return answer


def http_exchange(
    client: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    body: bytes | None,
    cookies: Mapping[str, str] | None,
    headers: Mapping[str, str],
) -> HttpAnswer:
    """Send one request on ``client`` (closed after); a JSON answer's body is decoded, any other
    is left as bytes. The cookies set are collected."""
    request_headers = {"Accept": "application/json", **headers}
    if cookies:
        request_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    try:
        client.request(method, path, body=body, headers=request_headers)
        response = client.getresponse()
        raw = response.read()
        set_cookies: SimpleCookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            set_cookies.load(header)
    finally:
        client.close()
    answer: Any = raw
    if raw and response.headers.get_content_type() == "application/json":
        answer = json.loads(raw)
    return HttpAnswer(
        status=response.status,
        body=answer,
        cookies={name: morsel.value for name, morsel in set_cookies.items()},
    )


@dataclass
class ApiSession:
    """A user signed in through the real HTTP API, holding its cookies as a browser would."""

    server: LiveServer
    user: dict[str, Any]
    cookies: dict[str, str]

    @property
    def session_id(self) -> str:
        return self.cookies[settings.SESSION_COOKIE_NAME]

    def get(self, path: str) -> HttpAnswer:
        return http_request(self.server, "GET", path, cookies=self.cookies)

    def post(self, path: str, body: Any = None) -> HttpAnswer:
        """An unsafe request as the web app sends it: session, CSRF token and its own Origin."""
        answer = http_request(
            self.server,
            "POST",
            path,
            body=body,
            cookies=self.cookies,
            headers={
                "X-CSRFToken": self.cookies[settings.CSRF_COOKIE_NAME],
                "Origin": self.server.origin,
            },
        )
        for name, value in answer.cookies.items():
            if value:
                self.cookies[name] = value
            else:  # a deleted cookie
                self.cookies.pop(name, None)
        return answer


def api_login(server: LiveServer, username: str, password: str) -> ApiSession:
    """Sign in with ``POST /api/auth/login/`` and keep the session and CSRF cookies."""
    answer = http_request(
        server, "POST", "/api/auth/login/", body={"username": username, "password": password}
    )
    if answer.status != 200 or settings.SESSION_COOKIE_NAME not in answer.cookies:
        raise AssertionError(f"sign-in of {username!r} failed: {answer}")
    return ApiSession(server=server, user=answer.body, cookies=answer.cookies)


# -- websocket clients -----------------------------------------------------------------------

# How long a client waits for a frame before the test fails: a broken server fails, never hangs.
RECEIVE_TIMEOUT = 5.0

Frame = dict[str, Any]


class ChatSocket:
    """A real websocket client of ``/ws/chat/`` (the ``websockets`` library)."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, frame: Frame) -> None:
        await self.connection.send(json.dumps(frame))

    async def send_text(self, text: str) -> None:
        await self.connection.send(text)

    async def receive(self, *, timeout: float = RECEIVE_TIMEOUT) -> Frame:
        try:
            return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        except TimeoutError:
            raise AssertionError(f"no frame within {timeout}s") from None

    async def receive_until(
        self,
        frame_type: str,
        *,
        where: Callable[[Frame], bool] | None = None,
        timeout: float = RECEIVE_TIMEOUT,
    ) -> tuple[Frame, list[Frame]]:
        """Read until a frame of ``frame_type`` (for which ``where`` holds); returns it and the
        frames read before it."""
        before: list[Frame] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    frame = json.loads(await self.connection.recv())
                    if frame["type"] == frame_type and (where is None or where(frame)):
                        return frame, before
                    before.append(frame)
        except TimeoutError:
            raise AssertionError(
                f"no {frame_type!r} frame within {timeout}s; frames read: {before}"
            ) from None

    async def collect(
        self, until: Callable[[list[Frame]], bool], *, timeout: float = RECEIVE_TIMEOUT
    ) -> list[Frame]:
        """Read frames until ``until`` holds for all of them read so far; returns them."""
        frames: list[Frame] = []
        try:
            async with asyncio.timeout(timeout):
                while not until(frames):
                    frames.append(json.loads(await self.connection.recv()))
        except TimeoutError:
            raise AssertionError(
                f"the awaited frames did not come within {timeout}s; frames read: {frames}"
            ) from None
        return frames

    async def subscribe(self, conversation: str, *, after: int = 0) -> tuple[Frame, list[Frame]]:
        """Subscribe and read through ``subscribed``; returns it and the frames before it."""
        await self.send({"type": "subscribe", "conversation": conversation, "after": after})
        return await self.receive_until("subscribed")

    async def say(
        self, conversation: str, body: str, *, client_id: str | None = None
    ) -> tuple[Frame, list[Frame]]:
        """Send a text message and read through its ``ack``; returns it and the frames before."""
        client_id = client_id or str(uuid.uuid4())
        await self.send(
            {"type": "send", "conversation": conversation, "client_id": client_id, "body": body}
        )
        return await self.receive_until("ack", where=lambda frame: frame["client_id"] == client_id)

    async def sync(self, *, timeout: float = RECEIVE_TIMEOUT) -> list[Frame]:
        """Ping and read through the ``pong``: every frame the server sent before answering."""
        await self.send({"type": "ping"})
        _, before = await self.receive_until("pong", timeout=timeout)
        return before

    async def until_closed(self, *, timeout: float = RECEIVE_TIMEOUT) -> tuple[int, list[Frame]]:
        """Read until the server closes; returns the close code (1006 for a dropped connection,
        which has none) and the frames read before."""
        frames: list[Frame] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    frames.append(json.loads(await self.connection.recv()))
        except ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd is not None else 1006), frames
        except TimeoutError:
            raise AssertionError(
                f"the socket is still open after {timeout}s; frames read: {frames}"
            ) from None

    def drop(self) -> None:
        """Lose the connection the way a network failure does: no closing handshake."""
        self.connection.transport.abort()


def history_messages(frames: list[Frame]) -> list[Frame]:
    """The messages of the ``history`` frames among ``frames``, in the order they came."""
    return [
        message for frame in frames if frame["type"] == "history" for message in frame["messages"]
    ]


async def open_socket(
    server: LiveServer, *, session_id: str | None, origin: str | None = None
) -> ChatSocket:
    """Open a websocket as the browser of ``session_id`` (or anonymously) would."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_id}"} if session_id else {}
    connection = await connect(
        server.ws_url,
        origin=Origin(origin or server.origin),
        additional_headers=headers,
        compression=None,  # a frame's size on the wire is its size
        proxy=None,
        open_timeout=RECEIVE_TIMEOUT,
        close_timeout=2,
        max_size=2**22,
    )
    return ChatSocket(connection)


@asynccontextmanager
async def chat_socket(
    server: LiveServer, *, session_id: str | None, origin: str | None = None
) -> AsyncIterator[ChatSocket]:
    """``open_socket``, closed on the way out."""
    socket = await open_socket(server, session_id=session_id, origin=origin)
    try:
        yield socket
    finally:
        await socket.connection.close()
