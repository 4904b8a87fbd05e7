"""``python -m config.serve``: daphne's command line, with websocket limits enforced politely.

daphne leaves autobahn's ``failByDrop`` on, so a frame over ``--websocket-max-message-size``
drops the TCP connection (the client sees 1006). PROTOCOL.md §3 promises a close with 1009
(message too big): with ``failByDrop`` off, autobahn sends that close frame first.
"""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server


class ChatboxServer(Server):
    def listen_success(self, port: Any) -> None:
        # The factory exists by now and no connection has been made: protocols copy their
        # options from it when they connect.
        self.ws_factory.setProtocolOptions(failByDrop=False)
        super().listen_success(port)


class ChatboxCommandLine(CommandLineInterface):
    server_class = ChatboxServer


if __name__ == "__main__":
    ChatboxCommandLine.entrypoint()
