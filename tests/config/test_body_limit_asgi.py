"""The ASGI middleware of ``config.bodylimit`` in the app as ``config.asgi`` builds it, driven the
way a streaming ASGI server (uvicorn, hypercorn) drives it: one ``http.request`` message per
chunk as it arrives. (daphne does not stream; ``tests/live/test_body_limit.py`` covers it.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from config.asgi import application
from config.bodylimit import BodyLimit, body_limit_for
from reports.services import DOCUMENT_MAX_BYTES

TIMEOUT = 5
MIB = 1024 * 1024
TOO_LARGE = {
    "error": {
        "code": "too_large",
        "message": "The request body is larger than 1 MB.",
        "fields": {"max_bytes": MIB},
    }
}


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ["127.0.0.1", 50000],
        "server": ["127.0.0.1", 8000],
    }


async def _answer(communicator: ApplicationCommunicator) -> tuple[int, dict[bytes, bytes], Any]:
    start = await communicator.receive_output(TIMEOUT)
    assert start["type"] == "http.response.start"
    body = b""
    while True:
        message = await communicator.receive_output(TIMEOUT)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], dict(start["headers"]), json.loads(body)


async def test_a_content_length_over_the_limit_is_refused_without_reading_the_body() -> None:
    # given a request that announces 11 MB to the ID document upload, with a first chunk ready
    communicator = ApplicationCommunicator(
        application,
        _scope(
            "POST",
            "/api/account/id-document/",
            [
                (b"content-type", b"multipart/form-data; boundary=b"),
                (b"content-length", str(11 * MIB).encode()),
            ],
        ),
    )
    await communicator.send_input({"type": "http.request", "body": b"x" * 1000, "more_body": True})
    # when
    status, headers, body = await _answer(communicator)
    # then: refused, and the chunk waiting to be read was never read
    assert status == 413
    assert headers[b"content-type"] == b"application/json"
    assert body == {
        "error": {
            "code": "file_too_large",
            "message": "The file is larger than 10 MB.",
            "fields": {"file": ["At most 10 MB."], "max_bytes": DOCUMENT_MAX_BYTES},
        }
    }
    assert communicator.input_queue.qsize() == 1
    await communicator.wait(TIMEOUT)


@pytest.mark.parametrize("content_length", [None, b"10"])
async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(
    content_length: bytes | None,
) -> None:
    # given a body without a length, or longer than it said, arriving in chunks
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", content_length))
    communicator = ApplicationCommunicator(application, _scope("POST", "/api/auth/login/", headers))
    for _ in range(16):  # exactly 1 MiB, the default limit
        await communicator.send_input(
            {"type": "http.request", "body": b" " * (64 * 1024), "more_body": True}
        )
    # when one byte more arrives, and the body is not over
    await communicator.send_input({"type": "http.request", "body": b" ", "more_body": True})
    status, _, body = await _answer(communicator)
    # then
    assert (status, body) == (413, TOO_LARGE)
    await communicator.wait(TIMEOUT)


@pytest.mark.django_db(transaction=True)
async def test_a_body_of_exactly_the_limit_reaches_its_view() -> None:
    # given 1 MiB, the default limit, of what is not JSON, in chunks
    communicator = ApplicationCommunicator(
        application,
        _scope(
            "POST",
            "/api/auth/login/",
            [(b"content-type", b"application/json"), (b"content-length", str(MIB).encode())],
        ),
    )
    for n in range(16):
        await communicator.send_input(
            {"type": "http.request", "body": b" " * (64 * 1024), "more_body": n < 15}
        )
    # when
    status, _, body = await _answer(communicator)
    # then the view's parser refused it, not the limit
    assert status == 400
    assert body["error"]["code"] == "parse_error"
    await communicator.wait(TIMEOUT)


@pytest.mark.django_db(transaction=True)
async def test_a_body_within_the_limit_reaches_its_view() -> None:
    # given a sign-in of someone unknown, in two chunks
    credentials = json.dumps({"username": "nobody", "password": "wrong"}).encode()
    communicator = ApplicationCommunicator(
        application,
        _scope(
            "POST",
            "/api/auth/login/",
            [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(credentials)).encode()),
            ],
        ),
    )
    await communicator.send_input(
        {"type": "http.request", "body": credentials[:5], "more_body": True}
    )
    await communicator.send_input({"type": "http.request", "body": credentials[5:]})
    # when
    status, _, body = await _answer(communicator)
    # then the view answered it
    assert status == 400
    assert body["error"]["code"] == "invalid_credentials"
    await communicator.wait(TIMEOUT)


def test_the_limit_is_found_under_the_root_path(settings: Any) -> None:
    upload = BodyLimit(DOCUMENT_MAX_BYTES + 64 * 1024, DOCUMENT_MAX_BYTES)
    assert body_limit_for("/chat/api/account/id-document/", root_path="/chat") == upload
    assert body_limit_for("/api/account/id-document/") == upload
    assert body_limit_for("/api/conversations/") == BodyLimit(settings.REQUEST_BODY_MAX_BYTES)
