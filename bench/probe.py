"""One pair, one message at a time, on an idle server: the floor of a message's latency.

``python -m bench.probe [--messages N]`` starts ours as ``make bench`` does (fresh database,
one pair), sends N messages 50 ms apart from one member, waiting for each ``ack`` and for the
other member's ``message``, and prints the percentiles of both. No load, no batching: what is
left is the path itself (docs/performance.md, "Latency").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.load import percentile
from bench.server import Server, fixtures_make, server_start

GAP_S = 0.05


async def _member(server: Server, cookie: str, session: str, conversation: str) -> ClientConnection:
    connection = await connect(
        server.ws_url,
        origin=Origin(server.origin),
        additional_headers={"Cookie": f"{cookie}={session}"},
        compression=None,
        ping_interval=None,
    )
    await connection.send(json.dumps({"type": "subscribe", "conversation": conversation}))
    while json.loads(await connection.recv())["type"] != "subscribed":
        pass
    return connection


async def _next(connection: ClientConnection, frame_type: str) -> float:
    while json.loads(await connection.recv())["type"] != frame_type:
        pass
    return time.perf_counter()


async def probe(server: Server, fixtures: dict[str, Any], messages: int) -> dict[str, Any]:
    pair = fixtures["sets"]["probe"][0]
    sender, receiver = [
        await _member(server, fixtures["cookie"], pair[side]["session"], pair["conversation"])
        for side in ("a", "b")
    ]
    acks, deliveries = [], []
    for _ in range(messages):
        sent = time.perf_counter()
        frame = {
            "type": "send",
            "conversation": pair["conversation"],
            "client_id": str(uuid.uuid4()),
            "body": "Hi! Could you check the colours on page 2?",
        }
        await sender.send(json.dumps(frame))
        acks.append(await _next(sender, "ack") - sent)
        deliveries.append(await _next(receiver, "message") - sent)
        await asyncio.sleep(GAP_S)
    for connection in (sender, receiver):
        await connection.close()

    def ms(values: list[float]) -> dict[str, float | None]:
        found = {q: percentile(values, q) for q in (50, 90, 99)}
        return {
            f"p{q}_ms": None if value is None else round(1000 * value, 2)
            for q, value in found.items()
        }

    return {"messages": messages, "ack": ms(acks), "delivery": ms(deliveries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatbox-probe-") as workdir:
        out = Path(workdir) / "fixtures.json"
        fixtures_make("ours", pairs={"probe": 1}, idle=0, out=out)
        server = server_start("ours")
        try:
            result = asyncio.run(probe(server, json.loads(out.read_text()), args.messages))
        finally:
            server.stop()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
