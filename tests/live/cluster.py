"""A scaled-out deployment under test: daphne processes on one database and one Redis, nginx in
front of them (rendered from ``deploy/nginx/chatbox.conf``), and clients that keep reading while
they send.

``tests.live`` starts daphne as ``make run`` does; the backends here are started the way
docs/deployment.md starts them behind nginx (``--proxy-headers``), and their access log (daphne
writes one line per request and per websocket) is kept, so a test can see which process served
what.
"""

from __future__ import annotations

import asyncio
import datetime
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.live import (
    LISTENING,
    RECEIVE_TIMEOUT,
    ROOT,
    START_TIMEOUT,
    ChatSocket,
    Frame,
    HttpAnswer,
    LiveServer,
    http_exchange,
    server_log,
    test_database_url,
)
from tests.services import require

NGINX = "/usr/sbin/nginx"
SITE_CONFIG = ROOT / "deploy" / "nginx" / "chatbox.conf"
# The address the test's clients connect from, so that a backend can tell the client's address
# (forwarded by nginx) from nginx's own (127.0.0.1).
CLIENT_ADDRESS = "127.0.0.2"


# -- backends --------------------------------------------------------------------------------


@dataclass
class Backend(LiveServer):
    """A daphne process as deployed behind nginx: ``--proxy-headers``, its output (log and
    access log) kept. Backends started together share ``arrived``, which is notified on every
    line any of them writes."""

    arrived: threading.Condition = field(default_factory=threading.Condition)


def wait_for_lines(
    backends: list[Backend], pattern: str, *, count: int, timeout: float = RECEIVE_TIMEOUT
) -> list[list[str]]:
    """Block until ``count`` lines matching ``pattern`` were written by ``backends`` together;
    returns the matching lines of each backend. Daphne logs a request once it is answered and a
    websocket once it is accepted, so a client that has its answer only waits for the pipe."""
    regex = re.compile(pattern)
    arrived = backends[0].arrived
    assert all(backend.arrived is arrived for backend in backends)

    def matching() -> list[list[str]]:
        return [[line for line in backend.output if regex.search(line)] for backend in backends]

    with arrived:
        if not arrived.wait_for(lambda: sum(map(len, matching())) >= count, timeout=timeout):
            raise AssertionError(
                f"{count} line(s) matching {pattern!r} were not written within {timeout}s:\n"
                + server_log(*backends)
            )
        return matching()


def start_backend(*, env: Mapping[str, str], arrived: threading.Condition) -> Backend:
    """Start daphne with ``--proxy-headers`` on a free port; return once it listens."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.serve",
            "-b",
            "127.0.0.1",
            "-p",
            "0",
            "--proxy-headers",
            "--websocket-max-message-size",
            "262144",
            "config.asgi:application",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATA_DIR": str(settings.DATA_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # The access log goes to stdout: line by line, not in 8 KiB blocks.
            "PYTHONUNBUFFERED": "1",
            "DATABASE_CONN_MAX_AGE": "600",  # as production (see tests.live.start_daphne)
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    backend = Backend(process=process, port=0, arrived=arrived)
    listening: list[int] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with backend.arrived:
                backend.output.append(line)
                if not listening and (match := LISTENING.search(line)):
                    listening.append(int(match.group(1)))
                backend.arrived.notify_all()
        with backend.arrived:
            backend.output.append("(exited)\n")
            backend.arrived.notify_all()

    threading.Thread(target=pump, daemon=True).start()
    with backend.arrived:
        backend.arrived.wait_for(
            lambda: bool(listening) or process.poll() is not None or "(exited)\n" in backend.output,
            timeout=START_TIMEOUT,
        )
    if not listening:
        backend.stop()
        raise RuntimeError("daphne did not start:\n" + "".join(backend.output))
    backend.port = listening[0]
    return backend


def running_backends(count: int, *, extra_env: Mapping[str, str]) -> Iterator[list[Backend]]:
    """``count`` backends started side by side, all stopped afterwards (also when one fails)."""
    if connection.vendor == "sqlite":
        connection.close()  # see tests.live.start_daphne
    env = {"DATABASE_URL": test_database_url(), **extra_env}
    arrived = threading.Condition()
    with ExitStack() as stop_all:
        with ThreadPoolExecutor(max_workers=count) as pool:
            starts = [pool.submit(start_backend, env=env, arrived=arrived) for _ in range(count)]
        for start in starts:
            if start.exception() is None:
                stop_all.callback(start.result().stop)
        backends = [start.result() for start in starts]
        try:
            yield backends
        finally:
            sys.stderr.write(server_log(*backends))


# -- nginx in front --------------------------------------------------------------------------


def require_nginx() -> str:
    require("nginx", Path(NGINX).is_file(), f"{NGINX} is missing (apt-get install nginx-light)")
    return NGINX


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    certificate: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts this certificate (and checks the host name) uses."""
        return ssl.create_default_context(cafile=str(self.certificate))


def self_signed_certificate(folder: Path) -> Certificate:
    """A certificate for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(certificate=folder / "certificate.pem", key=folder / "key.pem")
    paths.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths


def _replace(pattern: str, replacement: str, text: str, *, count: int) -> str:
    """``re.sub`` that insists on finding exactly ``count`` places: a changed sample config
    must break the test loudly, not be run half-rendered."""
    rendered, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if found != count:
        raise AssertionError(
            f"{SITE_CONFIG.name}: expected {count} match(es) of {pattern!r}, found {found}"
        )
    return rendered


def site_render(
    site: str,
    *,
    backend_ports: list[int],
    http_port: int,
    https_port: int,
    certificate: Certificate,
) -> str:
    """The sample site with the test's addresses: the upstream lists the test's backends
    (keeping the sample's parameters), it listens on 127.0.0.1 only (no IPv6 in some CI
    containers) on free ports, and uses a self-signed certificate. Nothing else changes."""
    upstream = re.search(r"^upstream chatbox_daphne \{$.*?^\}$", site, re.MULTILINE | re.DOTALL)
    if upstream is None:
        raise AssertionError(f"{SITE_CONFIG.name} has no 'upstream chatbox_daphne' block")
    server_lines = re.findall(r"^ *server \S+:\d+([^;]*);\n", upstream.group(0), re.MULTILINE)
    if len(server_lines) < 2:
        raise AssertionError(f"{SITE_CONFIG.name}: the upstream should list several processes")
    parameters = server_lines[0]
    block = re.sub(r"^ *server \S+:\d+[^;]*;\n", "", upstream.group(0), flags=re.MULTILINE)
    servers = "".join(f"    server 127.0.0.1:{port}{parameters};\n" for port in backend_ports)
    block = block.replace("    keepalive", servers + "\n    keepalive", 1)
    rendered = site.replace(upstream.group(0), block)
    rendered = _replace(r"^( *)listen \[::\]:\d+[^;]*;\n", "", rendered, count=2)
    rendered = _replace(r"^( *)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", rendered, count=1)
    rendered = _replace(
        r"^( *)listen 443 (.*);$", rf"\1listen 127.0.0.1:{https_port} \2;", rendered, count=1
    )
    rendered = _replace(
        r"^( *ssl_certificate) .*;$", rf"\1 {certificate.certificate};", rendered, count=1
    )
    return _replace(r"^( *ssl_certificate_key) .*;$", rf"\1 {certificate.key};", rendered, count=1)


def nginx_main_config(site: str, *, folder: Path) -> str:
    """An nginx.conf around the site, with every path nginx writes in ``folder``."""
    # Started as root, nginx would run its workers as "nobody", who cannot enter pytest's
    # temporary folders: keep them as the current user, as nginx does for any other user.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {folder / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\n{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
        # notice: nginx says "start worker processes" once it listens.
        "error_log stderr notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n{temp}\n"
        f"{site}\n"
        "}\n"
    )


@dataclass
class Nginx:
    process: subprocess.Popen[str]
    http_port: int
    https_port: int
    certificate: Certificate
    output: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_line(self, pattern: str, *, timeout: float = RECEIVE_TIMEOUT) -> str:
        """Block until nginx's error log (notice level, on stderr) has a line matching
        ``pattern``; returns it."""
        regex = re.compile(pattern)

        def found() -> list[str]:
            return [line for line in self.output if regex.search(line)]

        with self.arrived:
            if not self.arrived.wait_for(found, timeout=timeout):
                raise AssertionError(
                    f"nginx wrote no line matching {pattern!r} within {timeout}s:\n"
                    + "".join(self.output)
                )
            return found()[0]

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.https_port}/ws/chat/"

    def stop(self) -> None:
        self.process.terminate()  # nginx's fast shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def running_nginx(folder: Path, backends: list[Backend]) -> Iterator[Nginx]:
    """nginx (as the current user, in the foreground) with the sample site in front of
    ``backends``; returns once it listens."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate = self_signed_certificate(folder)
    http_port, https_port = free_port(), free_port()
    site = site_render(
        SITE_CONFIG.read_text(),
        backend_ports=[backend.port for backend in backends],
        http_port=http_port,
        https_port=https_port,
        certificate=certificate,
    )
    config = folder / "nginx.conf"
    config.write_text(nginx_main_config(site, folder=folder))
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(config), "-e", "stderr"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    proxy = Nginx(process, http_port, https_port, certificate)
    started = threading.Event()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            with proxy.arrived:
                proxy.output.append(line)
                proxy.arrived.notify_all()
            if "start worker processes" in line:
                started.set()
        started.set()  # exited

    threading.Thread(target=pump, daemon=True).start()
    if not started.wait(timeout=START_TIMEOUT) or process.poll() is not None:
        proxy.stop()
        raise RuntimeError(f"nginx did not start:\n{''.join(proxy.output)}\n{site}")
    try:
        yield proxy
    finally:
        proxy.stop()
        sys.stderr.write(f"--- nginx\n{''.join(proxy.output)}")


# -- clients of nginx ------------------------------------------------------------------------

HTTP_TIMEOUT = 10.0


def https_request(
    proxy: Nginx,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    cookies: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One HTTPS request to nginx from ``CLIENT_ADDRESS``; a JSON answer is decoded."""
    client = http.client.HTTPSConnection(
        "127.0.0.1",
        proxy.https_port,
        timeout=HTTP_TIMEOUT,
        context=proxy.certificate.client_context(),
        source_address=(CLIENT_ADDRESS, 0),
    )
    answer = http_exchange(
        client, method, path, body=body, cookies=cookies, headers=dict(headers or {})
    )
    if isinstance(answer.body, bytes):
        return HttpAnswer(
            status=answer.status, body=answer.body.decode(errors="replace"), cookies=answer.cookies
        )
    return answer


@dataclass
class ProxiedSession:
    """A user signed in through nginx, sending what the web app sends (cookies, CSRF token and
    the page's own Origin)."""

    proxy: Nginx
    user: dict[str, Any]
    cookies: dict[str, str]

    @property
    def session_id(self) -> str:
        return self.cookies[settings.SESSION_COOKIE_NAME]

    def get(self, path: str) -> HttpAnswer:
        return https_request(self.proxy, "GET", path, cookies=self.cookies)

    def post(
        self, path: str, body: bytes, content_type: str, *, origin: str | None = None
    ) -> HttpAnswer:
        return https_request(
            self.proxy,
            "POST",
            path,
            body=body,
            cookies=self.cookies,
            headers={
                "Content-Type": content_type,
                "X-CSRFToken": self.cookies[settings.CSRF_COOKIE_NAME],
                "Origin": origin or self.proxy.origin,
            },
        )


def proxied_login(
    proxy: Nginx, username: str, password: str, *, headers: Mapping[str, str] | None = None
) -> ProxiedSession:
    answer = https_request(
        proxy,
        "POST",
        "/api/auth/login/",
        body=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    if answer.status != 200 or settings.SESSION_COOKIE_NAME not in answer.cookies:
        raise AssertionError(f"sign-in of {username!r} through nginx failed: {answer}")
    return ProxiedSession(proxy=proxy, user=answer.body, cookies=answer.cookies)


def multipart(
    field_name: str, filename: str, content: bytes, content_type: str
) -> tuple[bytes, str]:
    """A multipart/form-data body holding one file, and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def open_proxied_socket(
    proxy: Nginx, *, session_id: str, origin: str | None = None
) -> ChatSocket:
    """A websocket through nginx (wss), from ``CLIENT_ADDRESS``, as a browser on the site."""
    connection = await connect(
        proxy.ws_url,
        ssl=proxy.certificate.client_context(),
        origin=Origin(origin or proxy.origin),
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_id}"},
        compression=None,
        proxy=None,
        open_timeout=RECEIVE_TIMEOUT,
        close_timeout=2,
        max_size=2**22,
        local_addr=(CLIENT_ADDRESS, 0),
    )
    return ChatSocket(connection)


# -- clients that read while they send -------------------------------------------------------


class FrameLog:
    """Every frame one socket receives, read by a task of its own, so that the test can send a
    burst without waiting for answers and then wait for what it expects."""

    def __init__(self, socket: ChatSocket) -> None:
        self.socket = socket
        self.frames: list[Frame] = []
        self.close_code: int | None = None
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                frame = json.loads(await self.socket.connection.recv())
                async with self._changed:
                    self.frames.append(frame)
                    self._changed.notify_all()
        except ConnectionClosed as closed:
            async with self._changed:
                self.close_code = closed.rcvd.code if closed.rcvd is not None else 1006
                self._changed.notify_all()

    async def send(self, frame: Frame) -> None:
        await self.socket.send(frame)

    async def wait_until(
        self,
        what: str,
        condition: Callable[[list[Frame]], bool],
        *,
        timeout: float = RECEIVE_TIMEOUT,
    ) -> None:
        """Wait until ``condition`` holds for the frames so far; fail when the socket closes
        first or ``timeout`` passes."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(
                    lambda: condition(self.frames) or self.close_code is not None
                )
        except TimeoutError:
            raise AssertionError(
                f"{what}: not within {timeout}s; {len(self.frames)} frames read, the last: "
                f"{self.frames[-5:]}"
            ) from None
        if not condition(self.frames):
            raise AssertionError(
                f"{what}: the socket closed ({self.close_code}) first; the last frames: "
                f"{self.frames[-5:]}"
            )

    async def wait_closed(self, *, timeout: float = RECEIVE_TIMEOUT) -> int:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.close_code is not None)
        except TimeoutError:
            raise AssertionError(f"the socket is still open after {timeout}s") from None
        assert self.close_code is not None
        return self.close_code

    def of_type(self, frame_type: str) -> list[Frame]:
        return [frame for frame in self.frames if frame["type"] == frame_type]

    def messages(self) -> list[Frame]:
        """The events this socket was given, replayed or live, in the order they came."""
        return [
            message
            for frame in self.frames
            if frame["type"] in ("history", "message")
            for message in (frame["messages"] if frame["type"] == "history" else [frame])
        ]

    def acks(self) -> dict[str, int]:
        """client_id → seq of every ``ack``; a client_id acknowledged twice fails."""
        acks: dict[str, int] = {}
        for ack in self.of_type("ack"):
            assert ack["client_id"] not in acks, f"acknowledged twice: {ack}"
            acks[ack["client_id"]] = ack["seq"]
        return acks

    async def close(self) -> None:
        await self.socket.connection.close()
        await self._reader


@asynccontextmanager
async def frame_log(socket: ChatSocket) -> AsyncIterator[FrameLog]:
    """Read ``socket`` in the background; closed on the way out."""
    log = FrameLog(socket)
    try:
        yield log
    finally:
        await log.close()


def send_frame(conversation: str, client_id: str, body: str) -> Frame:
    return {"type": "send", "conversation": conversation, "client_id": client_id, "body": body}
