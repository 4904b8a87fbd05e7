"""The lower bound of any server: a bare ``websockets`` relay, no database, no channel layer,
no Django.

``python -m bench.baselines.bare --port 0`` speaks the subset of PROTOCOL.md §3 that the load
process needs: ``subscribe`` joins an in-memory room (``history`` with nothing, then
``subscribed``), ``send`` gets an ``ack`` with an in-memory ``seq`` and a ``message`` to every
socket of the room (the sender's included, as the product does), ``ping`` gets ``pong``. Nothing
is stored, nothing is checked, anyone may connect: it is what any server has to pay at least.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.procstat import raise_fd_limit

rooms: defaultdict[str, set[ServerConnection]] = defaultdict(set)
heads: defaultdict[str, int] = defaultdict(int)


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


async def relay(socket: ServerConnection) -> None:
    user = socket.request.headers.get("Cookie", "") if socket.request else ""
    joined: set[str] = set()
    try:
        async for text in socket:
            try:
                frame = json.loads(text)
                kind = frame["type"]
            except (ValueError, TypeError, KeyError):
                await socket.send(_dumps({"type": "error", "code": "invalid_frame"}))
                continue
            if kind == "subscribe":
                room = str(frame["conversation"])
                rooms[room].add(socket)
                joined.add(room)
                await socket.send(
                    _dumps({"type": "history", "conversation": room, "messages": [], "more": False})
                )
                await socket.send(
                    _dumps({"type": "subscribed", "conversation": room, "head": heads[room]})
                )
            elif kind == "send":
                room = str(frame["conversation"])
                heads[room] += 1
                seq = heads[room]
                await socket.send(
                    _dumps(
                        {
                            "type": "ack",
                            "conversation": room,
                            "client_id": frame["client_id"],
                            "seq": seq,
                        }
                    )
                )
                message = {
                    "type": "message",
                    "conversation": room,
                    "seq": seq,
                    "kind": "text",
                    "sender": {"id": user},
                    "body": frame["body"],
                    "created_at": datetime.now(UTC).isoformat(),
                    "client_id": frame["client_id"],
                }
                broadcast(rooms[room], _dumps(message))
            elif kind == "ping":
                await socket.send(_dumps({"type": "pong"}))
            else:
                await socket.send(_dumps({"type": "error", "code": "unknown_type"}))
    finally:
        for room in joined:
            rooms[room].discard(socket)


async def main(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(relay, host, port, compression=None, max_size=2**18) as server:
        bound = next(iter(server.sockets)).getsockname()
        # The same line daphne logs: bench.server waits for it.
        logging.info("Listening on TCP address %s:%d", bound[0], bound[1])
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    raise_fd_limit()
    asyncio.run(main(args.host, args.port))
