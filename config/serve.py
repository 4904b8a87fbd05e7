"""``python -m config.serve``: daphne's command line, with websocket limits enforced politely
and request bodies refused while they stream in.

daphne leaves autobahn's ``failByDrop`` on, so a frame over ``--websocket-max-message-size``
drops the TCP connection (the client sees 1006). PROTOCOL.md §3 promises a close with 1009
(message too big): with ``failByDrop`` off, autobahn sends that close frame first.

Twisted reads a request's whole body before daphne hands the request to the application, so
the ASGI middleware of ``config.bodylimit`` would see a 1 GB upload only once it is all here.
``BodyLimitedRequest`` applies the same limits in Twisted, as the bytes come off the socket.
"""

from __future__ import annotations

import gc
import logging
import pprint
from typing import Any
from urllib.parse import unquote

from daphne.cli import CommandLineInterface  # first: it installs Twisted's asyncio reactor
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.internet import reactor
from twisted.web import http

from config.bodylimit import BodyLimit, body_limit_for

logger = logging.getLogger(__name__)

# How long the rest of a refused body is read and dropped before the connection is cut: long
# enough for a client to read the 413 and stop sending.
LINGER_SECONDS = 10.0


class BodyLimitedRequest(WebRequest):
    """daphne's request, refusing a body over its view's limit (``config.bodylimit``) while
    Twisted reads it: a ``Content-Length`` over it at once, a chunked or longer body as soon as
    it passes it. The 413 goes out and the sending side of the connection closes; what the
    client still sends is read and dropped for up to ``LINGER_SECONDS``. Closing outright with
    unread data would reset the connection, and the reset can destroy the answer before the
    client reads it.
    """

    _limit: BodyLimit | None = None
    _received = 0
    _refused = False
    _linger: Any = None

    def _body_limit(self) -> BodyLimit | None:
        channel = self.channel
        # HTTP/1.1 only: Twisted keeps the request target on the channel until the body is in.
        target = getattr(channel, "_path", None)
        if not isinstance(channel, http.HTTPChannel) or not isinstance(target, bytes):
            return None
        if self._limit is None:
            root = self.requestHeaders.getRawHeaders(b"daphne-root-path")
            try:
                path = unquote(target.split(b"?", 1)[0].decode("ascii"))
                root_path = unquote(root[0].decode("ascii")) if root else self.server.root_path
            except UnicodeDecodeError:  # daphne answers 400 for such a path
                return None
            self._limit = body_limit_for(path, root_path=root_path)
        return self._limit

    def gotLength(self, length: int | None) -> None:
        if length:  # None: chunked, counted as it comes
            limit = self._body_limit()
            if limit is not None and length > limit.max_bytes:
                super().gotLength(0)
                self._refuse(limit)
                return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        limit = self._body_limit()
        if limit is not None and self._received > limit.max_bytes:
            self._refuse(limit)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:  # a refused request is answered already and never runs
            super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _refuse(self, limit: BodyLimit) -> None:
        self._refused = True
        channel = self.channel
        transport = channel.transport
        logger.info(
            "413 for %s %s: the body passes %d bytes",
            channel._command.decode("ascii", "replace"),
            channel._path.decode("ascii", "replace"),
            limit.max_bytes,
        )
        # Refused before it is read: no "100 Continue" invites the body.
        self.requestHeaders.removeHeader(b"expect")
        channel.persistent = False
        body = limit.refusal()
        head = b"".join(
            name + b": " + value + b"\r\n" for name, value in limit.response_head(len(body))
        )
        transport.write(b"HTTP/1.1 413 Content Too Large\r\n" + head + b"\r\n" + body)
        # From now on the channel parses nothing: what comes is dropped.
        setattr(channel, "dataReceived", _drop)  # noqa: B010
        lose_write_connection = getattr(transport, "loseWriteConnection", None)
        if lose_write_connection is None:
            transport.loseConnection()
            return
        lose_write_connection()
        clock: Any = reactor  # typed as the interface class, not as the installed reactor
        self._linger = clock.callLater(LINGER_SECONDS, transport.abortConnection)


def _drop(data: bytes) -> None:
    """What a refused request's connection does with the rest of its body."""


class BodyLimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


def gc_tune() -> None:
    """Keep the cyclic garbage collector's pauses out of message latency.

    What was loaded at start (Django, the app, the libraries) lives as long as the process:
    frozen, a full collection no longer walks it. Collections of the youngest objects start
    after 50,000 allocations instead of 700. In the bench's chat mix the delivery p99 of 400
    users fell from 95 to 206 ms to 33 to 62 ms (docs/performance.md), the pauses having been the
    tail. Called once the server listens, before any connection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class _Pformatted:
    """``pprint.pformat(value)``, worked out only when a log line is really written."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    __repr__ = __str__


def autobahn_option_log_lazy() -> None:
    """autobahn logs every option of each new websocket at debug level, and formats them with
    ``pprint.pformat`` before the logger decides the line is not wanted: 8 % of the server's
    CPU in a reconnect storm (py-spy, docs/performance.md). Given a lazy ``pformat``, the
    line costs nothing unless debug logging is on, and reads the same when it is. The one
    other user of the name, ``Timings.__str__``, must still return a string."""
    import autobahn.websocket.protocol  # here, after daphne has installed its reactor

    protocol: Any = autobahn.websocket.protocol  # typed, its names would refuse new values
    protocol.pformat = _Pformatted
    protocol.Timings.__str__ = lambda timings: pprint.pformat(timings._timings)


class ChatboxServer(Server):
    def listen_success(self, port: Any) -> None:
        # The factories exist by now and no connection has been made: protocols copy their
        # options from them, and HTTP channels their request class, when they connect.
        self.ws_factory.setProtocolOptions(failByDrop=False)
        self.http_factory.__class__ = BodyLimitedHTTPFactory
        autobahn_option_log_lazy()
        gc_tune()
        super().listen_success(port)


class ChatboxCommandLine(CommandLineInterface):
    server_class = ChatboxServer


if __name__ == "__main__":
    ChatboxCommandLine.entrypoint()
