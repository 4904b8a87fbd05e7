"""Admission control for new sockets: a process sets up so many at a time, and asks the rest to
come back later at once instead of letting them queue.

Setting a socket up (its session, the user's standing, the socket recorded) is work for the
process's one database thread. After a restart every client of the process reconnects at
the same moment; queued behind each other, handshakes outlast daphne's handshake timeout, the
clients retry while their first attempts are still queued, and the queue never drains (a
metastable collapse, docs/performance.md). So while ``CHATBOX_CONNECTS_SETTING_UP`` sockets
are being set up, a new one is accepted and closed at once with 4503 "try again later",
which costs no database work; clients retry after a randomised backoff
(frontend/static/frontend/chat-socket.js), and those let in are set up in time.

A socket is being set up from its arrival until the application accepts or closes it; the
chat consumer accepts only once its set-up database work is done.
"""

from __future__ import annotations

from django.conf import settings

from chatbox.realtime import CLOSE_TRY_AGAIN_LATER
from config.asgi_types import ASGIApp, Message, Receive, Scope, Send


class ConnectAdmission:
    """ASGI middleware for websockets: at most ``limit`` sockets set up at a time (the
    setting ``CHATBOX_CONNECTS_SETTING_UP`` unless given)."""

    def __init__(self, inner: ASGIApp, limit: int | None = None) -> None:
        self.inner = inner
        self.limit = limit
        self.setting_up = 0
        self.refused = 0  # since the process started, for the logs and the bench

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.inner(scope, receive, send)
            return
        limit = self.limit if self.limit is not None else settings.CHATBOX_CONNECTS_SETTING_UP
        if self.setting_up >= limit:
            self.refused += 1
            await self._refuse(receive, send)
            return
        self.setting_up += 1
        counted = True

        def set_up() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.setting_up -= 1

        async def send_watched(message: Message) -> None:
            if message["type"] in ("websocket.accept", "websocket.close"):
                set_up()
            await send(message)

        try:
            await self.inner(scope, receive, send_watched)
        finally:
            set_up()  # the application ended (or failed) before answering the handshake

    @staticmethod
    async def _refuse(receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":  # the client went away already
            return
        # A close before accept is a bare HTTP 403 to the client; accepted first, the close
        # carries its code, and the client knows to come back.
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
