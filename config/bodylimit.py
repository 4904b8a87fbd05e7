"""Request bodies are refused while they stream in, by the limit of the view they are sent to.

Under ASGI Django reads the whole body before a view runs, so a view's own size check comes
after a 1 GB upload has been received. Here the limit is known from the path alone: the path
is resolved (``django.urls.resolve``) to its view, and the view declares its limit:

- ``max_body_bytes`` — an attribute of the view function or of a class-based view's class:
  the most bytes its request body may hold, a number or a function returning one (so that it
  may read a setting when asked). An upload view declares it with
  ``chatbox.uploads.upload_view(max_file_bytes=…)``, which also sets ``max_file_bytes``.
- Every other path — unknown ones too — takes ``settings.REQUEST_BODY_MAX_BYTES`` (1 MiB by
  default: far above any JSON or form this app takes, below Django's 2.5 MB
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which counts only a body's non-file part).

A ``Content-Length`` over the limit is answered 413 at once, without reading the body; a body
without one (chunked) or longer than it said is counted as it arrives and answered 413 as soon
as it passes the limit. The answer has the error shape of PROTOCOL.md §2: for a view that takes
a file, ``file_too_large`` with ``fields`` ``{"file": ["At most 10 MB."], "max_bytes": N}`` —
the file's limit, exactly as the view's own check answers a file just over it; for any other,
``too_large`` with ``{"max_bytes": N}``, the body's limit.

Two layers apply it:

- ``BodyLimitMiddleware``, the ASGI middleware around Django (``config.asgi``): it counts the
  ``http.request`` messages, which an ASGI server that streams (uvicorn, hypercorn) passes on as
  they arrive.
- daphne does not stream: Twisted receives the whole body before daphne calls the application.
  So ``python -m config.serve`` (``make run``, the live tests) gives daphne a request class,
  ``config.serve.BodyLimitedRequest``, that applies ``body_limit_for`` to the headers and to
  each chunk as Twisted reads it from the socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import Resolver404, resolve

from accounts.errors import error_body
from chatbox.uploads import UploadErrorCode, size_text
from config.asgi_types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "too_large"  # chatbox.errors.ErrorCode.TOO_LARGE, whose module needs DRF loaded


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    # Set for a view that takes a file: its 413 names the file's limit.
    max_file_bytes: int | None = None

    def refusal(self) -> bytes:
        """The 413's JSON body (PROTOCOL.md §2)."""
        if self.max_file_bytes is not None:
            size = size_text(self.max_file_bytes)
            body = error_body(
                UploadErrorCode.FILE_TOO_LARGE,
                f"The file is larger than {size}.",
                {"file": [f"At most {size}."], "max_bytes": self.max_file_bytes},
            )
        else:
            body = error_body(
                TOO_LARGE,
                f"The request body is larger than {size_text(self.max_bytes)}.",
                {"max_bytes": self.max_bytes},
            )
        return json.dumps(body).encode()

    def response_head(self, content_length: int) -> list[tuple[bytes, bytes]]:
        # The connection closes after the answer: the rest of the body is never read.
        return [
            (b"content-type", b"application/json"),
            (b"content-length", str(content_length).encode()),
            (b"connection", b"close"),
        ]


def _declared(view: Any, name: str) -> int | None:
    for holder in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        value = getattr(holder, name, None)
        if value is not None:
            return int(value() if callable(value) else value)
    return None


def body_limit_for(path: str, *, root_path: str = "") -> BodyLimit:
    """The body limit of a request to ``path`` (as in the ASGI scope: percent-decoded, with the
    ``root_path`` that Django strips before it resolves)."""
    script_name = settings.FORCE_SCRIPT_NAME or root_path
    path_info = path.removeprefix(script_name) if script_name else path
    try:
        view = resolve(path_info or "/").func
    except Resolver404:
        return BodyLimit(settings.REQUEST_BODY_MAX_BYTES)
    max_bytes = _declared(view, "max_body_bytes")
    if max_bytes is None:
        return BodyLimit(settings.REQUEST_BODY_MAX_BYTES)
    return BodyLimit(max_bytes, _declared(view, "max_file_bytes"))


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared length, or ``None`` when absent or malformed (the server refuses those)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


class BodyLimitMiddleware:
    """Refuses an HTTP request whose body passes its view's limit (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: BodyLimit | None = None

        def limit_of_request() -> BodyLimit:
            # Resolved only for a request that has a body: a GET costs nothing.
            nonlocal limit
            if limit is None:
                limit = body_limit_for(scope["path"], root_path=scope.get("root_path", ""))
            return limit

        declared = content_length(scope["headers"])
        if declared and declared > limit_of_request().max_bytes:
            await self._refuse(send, limit_of_request())
            return

        received = 0
        over = False
        response_started = False

        async def receive_within_limit() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                received += len(message["body"])
                if received > limit_of_request().max_bytes:
                    # Django stops reading at a disconnect and answers nothing: we answer.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def send_watched(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, receive_within_limit, send_watched)
        if over and not response_started:
            await self._refuse(send, limit_of_request())

    async def _refuse(self, send: Send, limit: BodyLimit) -> None:
        body = limit.refusal()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": limit.response_head(len(body)),
            }
        )
        await send({"type": "http.response.body", "body": body})
