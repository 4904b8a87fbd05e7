"""End to end: request bodies over their view's limit are refused by a real daphne while they
stream in (``config.bodylimit``, ``config.serve.BodyLimitedRequest``), and bodies within it
still reach their views.

The clients are raw sockets, so that a test decides exactly which bytes are sent and when.
A refusal that came only after the whole body would never come here: the tests never finish
the bodies they refuse. Every read has a timeout, so such a server fails a test, never hangs it.
"""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from django.conf import settings

from chatbox.uploads import MULTIPART_OVERHEAD_BYTES
from projects.models import PortfolioItem
from projects.taxonomy import taxonomy_sync
from reports.models import IdentityDocument
from reports.services import DOCUMENT_MAX_BYTES
from tests.factories import PASSWORD, UserFactory
from tests.live import HTTP_TIMEOUT, ApiSession, LiveServer, api_login, running_daphne
from tests.projects.profiles import provider_with_profile

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

PORTFOLIO_FILE_MAX = 100_000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
CHUNK = 64 * 1024


@pytest.fixture
def server(transactional_db: None) -> Iterator[LiveServer]:
    """daphne with a small portfolio file limit (a setting), so that passing it is quick."""
    yield from running_daphne(extra_env={"PORTFOLIO_FILE_MAX_BYTES": str(PORTFOLIO_FILE_MAX)})


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT)


def _head(server: LiveServer, method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *headers, "", ""]
    return "\r\n".join(lines).encode()


def _response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """The answer on ``sock``: status, headers, JSON body. A timeout fails the test."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(body)


def _closed_by_server(sock: socket.socket) -> bool:
    return sock.recv(1) == b""


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _file_too_large(max_bytes: int, size: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "file_too_large",
            "message": f"The file is larger than {size}.",
            "fields": {"file": [f"At most {size}."], "max_bytes": max_bytes},
        }
    }


TOO_LARGE = {
    "error": {
        "code": "too_large",
        "message": "The request body is larger than 1 MB.",
        "fields": {"max_bytes": 1024 * 1024},
    }
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/account/id-document/", _file_too_large(DOCUMENT_MAX_BYTES, "10 MB")),
        (
            "/api/profiles/me/portfolio/1/file/",
            _file_too_large(PORTFOLIO_FILE_MAX, "100,000 bytes"),
        ),
        ("/account/id/", _file_too_large(DOCUMENT_MAX_BYTES, "10 MB")),
        ("/api/auth/login/", TOO_LARGE),
        ("/no/such/page/", TOO_LARGE),
    ],
)
def test_a_huge_content_length_is_refused_at_once_without_the_body(
    server: LiveServer, path: str, expected: dict[str, Any]
) -> None:
    # given a client that announces a terabyte and asks to be told before it sends it
    with closing(_connect(server)) as sock:
        sock.sendall(
            _head(
                server,
                "POST",
                path,
                "Content-Type: multipart/form-data; boundary=b",
                f"Content-Length: {10**12}",
                "Expect: 100-continue",
            )
        )
        # when it waits, having sent no byte of the body
        status, headers, body = _response(sock)
        # then the answer is the refusal (no "100 Continue" first), and the server closes
        assert status == 413
        assert body == expected
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        assert _closed_by_server(sock)


@pytest.mark.parametrize(
    ("path", "limit", "expected"),
    [
        (
            "/api/profiles/me/portfolio/1/file/",
            PORTFOLIO_FILE_MAX + MULTIPART_OVERHEAD_BYTES,
            _file_too_large(PORTFOLIO_FILE_MAX, "100,000 bytes"),
        ),
        (
            "/api/account/id-document/",
            DOCUMENT_MAX_BYTES + MULTIPART_OVERHEAD_BYTES,
            _file_too_large(DOCUMENT_MAX_BYTES, "10 MB"),
        ),
        ("/api/auth/login/", 1024 * 1024, TOO_LARGE),
    ],
)
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    server: LiveServer, path: str, limit: int, expected: dict[str, Any]
) -> None:
    with closing(_connect(server)) as sock:
        sock.sendall(
            _head(
                server,
                "POST",
                path,
                "Content-Type: multipart/form-data; boundary=b",
                "Transfer-Encoding: chunked",
            )
        )
        # given a body that streams to exactly one byte past the limit, and stops there
        sent = 0
        while sent < limit:
            piece = b"x" * min(CHUNK, limit - sent)
            sock.sendall(_chunk(piece))
            sent += len(piece)
        sock.sendall(_chunk(b"x"))
        # when the client waits without finishing the body
        status, _, body = _response(sock)
        # then it is refused
        assert (status, body) == (413, expected)
        # and what the client still sends is taken without a reset, until the server closes
        sock.sendall(_chunk(b"x" * CHUNK))
        assert _closed_by_server(sock)


def _multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts) + (
        f"--{boundary}--\r\n".encode()
    )


def _upload(session: ApiSession, path: str, content: bytes, **fields: str) -> tuple[int, Any]:
    """A multipart upload as the web app sends it: session cookie, CSRF token, Origin."""
    content_type, payload = _multipart(fields, "upload.png", content)
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    headers = [
        f"Content-Type: {content_type}",
        f"Cookie: {cookie}",
        f"X-CSRFToken: {session.cookies[settings.CSRF_COOKIE_NAME]}",
        f"Origin: {session.server.origin}",
        "Accept: application/json",
        f"Content-Length: {len(payload)}",
    ]
    with closing(_connect(session.server)) as sock:
        sock.sendall(_head(session.server, "POST", path, *headers))
        sock.sendall(payload)
        status, _, body = _response(sock)
    return status, body


def test_an_upload_within_the_limit_still_works(server: LiveServer) -> None:
    # given a provider signed in through the real API
    UserFactory(username="pia", is_provider=True)
    pia = api_login(server, "pia", PASSWORD)
    # when an ID document of 10 MB exactly, the most the view takes, is uploaded
    content = PNG + b"\x00" * (DOCUMENT_MAX_BYTES - len(PNG))
    status, body = _upload(pia, "/api/account/id-document/", content, kind="identity")
    # then
    assert status == 201
    assert body["size"] == DOCUMENT_MAX_BYTES
    assert IdentityDocument.objects.get().file_open() == content


def test_a_portfolio_file_within_the_limit_still_works(server: LiveServer) -> None:
    # given a provider with a portfolio item, signed in through the real API
    taxonomy_sync()
    provider_with_profile()
    item = PortfolioItem.objects.get()
    provider = api_login(server, "provider", PASSWORD)
    content = PNG + b"\x00" * (PORTFOLIO_FILE_MAX - len(PNG))
    # when a file of the limit's size is sent
    status, body = _upload(provider, f"/api/profiles/me/portfolio/{item.pk}/file/", content)
    # then it is stored, and served back
    assert status == 200
    assert body["file"]["size"] == PORTFOLIO_FILE_MAX
    item.refresh_from_db()
    assert item.file_open() == content
    with closing(_connect(server)) as sock:
        sock.sendall(_head(server, "GET", body["file"]["url"]))
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert (response.status, response.read()) == (200, content)
        assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_ordinary_requests_still_work(server: LiveServer) -> None:
    # given
    taxonomy_sync()
    UserFactory(username="bea")
    # when: a GET, and a JSON sign-in
    with closing(_connect(server)) as sock:
        sock.sendall(_head(server, "GET", "/api/categories/", "Accept: application/json"))
        status, _, categories = _response(sock)
    signed_in = api_login(server, "bea", PASSWORD)
    # then
    assert status == 200
    assert categories[0]["slug"] == "design"
    assert signed_in.user["username"] == "bea"
