"""The load process: real websocket clients speaking PROTOCOL.md §3, one workload per run.

``python -m bench.load SPEC.json`` reads a workload's spec (written by ``bench.run``), drives
the server named in it over loopback, and prints one JSON line: the workload's result. CPU of
the server (and of PostgreSQL and Redis) is read from ``/proc`` at the edges of the measured
window (``bench.procstat``), so nothing outside the window is counted.

The reconnect storm needs the server restarted halfway: this process prints
``{"event": "restart"}`` and waits for a line ``restarted PID`` on its standard input.

Accounting: every ``send`` carries a fresh ``client_id``; an ``ack`` and the other member's
``message`` with that ``client_id`` are matched to it. A message acked but never delivered
to the other member (after a bounded drain) is lost.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import resource
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from bench.procstat import CpuProbe, cpu_delta, raise_fd_limit

BODY = "Hi! I pushed the revised logo files, could you check the colours on page 2? "
OPEN_TIMEOUT = 30.0
ACK_TIMEOUT = 30.0
DRAIN_TIMEOUT = 10.0
CONNECT_CONCURRENCY = 25
BACKOFF_CAP_S = 10.0

Frame = dict[str, Any]


# -- accounting (pure, unit-tested) ----------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile ``q`` (0-100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50, p95, p99 and max of ``seconds``, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 3)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


@dataclass
class Tally:
    """What happened to every message sent in one workload, keyed by ``client_id``."""

    owner: dict[str, int] = field(default_factory=dict)  # client_id -> sending client's index
    sent_at: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)  # to the other member
    errors: Counter[str] = field(default_factory=Counter)

    def lost(self) -> list[str]:
        """Messages acked (so durably stored) that the other member never received."""
        return lost_messages(self.acked_at, self.delivered_at)

    def acked_between(self, start: float, end: float) -> int:
        return sum(1 for moment in self.acked_at.values() if start <= moment < end)


def lost_messages(acked: Iterable[str], delivered: Iterable[str]) -> list[str]:
    """The ``client_id``s acked but not delivered."""
    received = set(delivered)
    return sorted(client_id for client_id in acked if client_id not in received)


def delays(start: dict[str, float], end: dict[str, float], keys: Iterable[str]) -> list[float]:
    """``end - start`` for each of ``keys`` present in both."""
    return [end[key] - start[key] for key in keys if key in start and key in end]


# -- clients ---------------------------------------------------------------------------------


class Client:
    """One websocket of one user, reading every frame into the shared tally."""

    def __init__(self, index: int, connection: ClientConnection, tally: Tally) -> None:
        self.index = index
        self.connection = connection
        self.tally = tally
        self.waiting: dict[str, asyncio.Future[Frame]] = {}
        self.subscribed: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.pong: asyncio.Event = asyncio.Event()
        self.last_seq = 0
        self.history: list[Frame] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        tally = self.tally
        try:
            async for text in self.connection:
                now = time.perf_counter()
                frame = json.loads(text)
                kind = frame.get("type")
                if kind == "ack":
                    client_id = frame["client_id"]
                    tally.acked_at.setdefault(client_id, now)
                    if (waiter := self.waiting.pop(client_id, None)) and not waiter.done():
                        waiter.set_result(frame)
                elif kind == "message":
                    client_id = frame.get("client_id")
                    if client_id is not None and tally.owner.get(client_id, self.index) != (
                        self.index
                    ):
                        tally.delivered_at.setdefault(client_id, now)
                    self.last_seq = max(self.last_seq, int(frame.get("seq") or 0))
                elif kind == "history":
                    self.history.extend(frame["messages"])
                    for message in frame["messages"]:
                        self.last_seq = max(self.last_seq, int(message["seq"]))
                elif kind == "subscribed":
                    if not self.subscribed.done():
                        self.subscribed.set_result(frame)
                elif kind == "pong":
                    self.pong.set()
                elif kind == "error":
                    tally.errors[str(frame.get("code"))] += 1
                    ref = frame.get("ref")
                    if ref and (waiter := self.waiting.pop(ref, None)) and not waiter.done():
                        waiter.set_result(frame)
        except ConnectionClosed:
            pass
        finally:
            for waiter in self.waiting.values():
                if not waiter.done():
                    waiter.set_result({"type": "closed"})

    async def subscribe(self, conversation: str, *, after: int = 0) -> Frame:
        await self.connection.send(
            json.dumps({"type": "subscribe", "conversation": conversation, "after": after})
        )
        return await asyncio.wait_for(asyncio.shield(self.subscribed), OPEN_TIMEOUT)

    async def send(self, conversation: str, *, client_id: str | None = None) -> str:
        """Send a message without waiting; returns its ``client_id``."""
        client_id = client_id or str(uuid.uuid4())
        self.tally.owner[client_id] = self.index
        self.tally.sent_at.setdefault(client_id, time.perf_counter())
        await self.connection.send(
            json.dumps(
                {
                    "type": "send",
                    "conversation": conversation,
                    "client_id": client_id,
                    "body": BODY,
                }
            )
        )
        return client_id

    async def say(self, conversation: str) -> Frame:
        """Send and wait for the ``ack`` (or an error naming it)."""
        client_id = str(uuid.uuid4())
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.waiting[client_id] = waiter
        await self.send(conversation, client_id=client_id)
        return await asyncio.wait_for(waiter, ACK_TIMEOUT)

    async def ping(self) -> None:
        self.pong.clear()
        await self.connection.send('{"type":"ping"}')
        await asyncio.wait_for(self.pong.wait(), OPEN_TIMEOUT)

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.gather(self.reader, return_exceptions=True)


async def open_client(
    spec: dict[str, Any], index: int, session: str | None, tally: Tally
) -> Client:
    headers = {"Cookie": f"{spec['cookie']}={session}"} if session else {}
    connection = await connect(
        spec["url"],
        origin=Origin(spec["origin"]),
        additional_headers=headers,
        compression=None,
        proxy=None,
        open_timeout=OPEN_TIMEOUT,
        close_timeout=5,
        max_size=2**22,
        ping_interval=None,  # the server pings; a client's pings would be load of our own
    )
    return Client(index, connection, tally)


async def bounded(jobs: Iterable[Any], limit: int) -> list[Any]:
    """Await ``jobs`` (coroutines) with at most ``limit`` in flight, in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


@dataclass
class Member:
    client: Client
    conversation: str


CONNECT_ATTEMPTS = 10
CONNECT_FAILURES = (OSError, TimeoutError, InvalidHandshake, ConnectionClosed)


async def open_pairs(spec: dict[str, Any], tally: Tally) -> list[Member]:
    """Both members of every pair, connected and subscribed to their conversation. A failed
    handshake is retried after a pause, as the web app's client does; retries are counted."""

    async def member(index: int, pair: dict[str, Any], side: str) -> Member:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                client = await open_client(spec, index, pair[side]["session"], tally)
                await client.subscribe(pair["conversation"])
                return Member(client, pair["conversation"])
            except CONNECT_FAILURES:
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                tally.errors["connect_retry"] += 1
                await asyncio.sleep(0.5 + random.uniform(0, 0.5))
        raise AssertionError("unreachable")

    jobs = [
        member(2 * index + offset, pair, side)
        for index, pair in enumerate(spec["pairs"])
        for offset, side in enumerate(("a", "b"))
    ]
    return await bounded(jobs, CONNECT_CONCURRENCY)


async def drain(tally: Tally, client_ids: Iterable[str]) -> None:
    """Wait (bounded) until every one of ``client_ids`` reached the other member. Not only
    the acked ones: a message sent just before the window closed may not be acked yet, and
    would be counted undelivered without its chance."""
    wanted = set(client_ids)
    deadline = time.perf_counter() + DRAIN_TIMEOUT
    while time.perf_counter() < deadline:
        if all(key in tally.delivered_at for key in wanted):
            return
        await asyncio.sleep(0.05)


def probe_of(spec: dict[str, Any]) -> CpuProbe:
    probe = spec["probe"]
    return CpuProbe(
        server_pids=tuple(probe["server_pids"]),
        postgres_pid=probe.get("postgres_pid"),
        redis_pid=probe.get("redis_pid"),
    )


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_result(
    cpu: dict[str, float], messages: int, window: float, load_cpu: float
) -> dict[str, Any]:
    """CPU per message, and how busy the machine was with work that was not this run's."""
    stack = cpu["server"] + cpu["postgres"] + cpu["redis"]
    others = max(0.0, cpu["machine"] - stack - load_cpu)
    return {
        "cpu_s": cpu,
        "load_cpu_percent": round(100 * load_cpu / window, 1),
        # Busy CPU of the machine outside the server, PostgreSQL, Redis and the load process,
        # in percent of one core (200 = both cores of a 2-core machine busy with other work).
        "other_cpu_percent": round(100 * others / window, 1),
        "server_cpu_percent": round(100 * cpu["server"] / window, 1) if window else None,
        "server_cpu_us_per_msg": round(cpu["server"] * 1e6 / messages, 1) if messages else None,
        "stack_cpu_us_per_msg": round(stack * 1e6 / messages, 1) if messages else None,
    }


# -- workloads -------------------------------------------------------------------------------


async def throughput(spec: dict[str, Any]) -> dict[str, Any]:
    """Closed loop: each member of each pair sends, waits for its ack, sends again."""
    tally = Tally()
    probe = probe_of(spec)
    members = await open_pairs(spec, tally)
    stop = asyncio.Event()

    async def sender(member: Member) -> None:
        while not stop.is_set():
            try:
                await member.client.say(member.conversation)
            except TimeoutError:
                tally.errors["ack_timeout"] += 1

    senders = [asyncio.create_task(sender(member)) for member in members]
    await asyncio.sleep(spec["warmup"])
    load_before, before, start = self_cpu(), probe.sample(), time.perf_counter()
    await asyncio.sleep(spec["duration"])
    after, end, load_after = probe.sample(), time.perf_counter(), self_cpu()
    stop.set()
    await asyncio.wait(senders, timeout=ACK_TIMEOUT + 5)
    await drain(tally, tally.acked_at)
    window = end - start
    acked = tally.acked_between(start, end)
    in_window = [key for key, moment in tally.acked_at.items() if start <= moment < end]
    lost = tally.lost()
    await bounded((member.client.close() for member in members), CONNECT_CONCURRENCY)
    return {
        "senders": len(members),
        "window_s": round(window, 3),
        "acked_in_window": acked,
        "msgs_per_s": round(acked / window, 1),
        **cpu_result(cpu_delta(before, after), acked, window, load_after - load_before),
        "ack_rtt": latency_summary(delays(tally.sent_at, tally.acked_at, in_window)),
        "delivery": latency_summary(delays(tally.sent_at, tally.delivered_at, in_window)),
        "acked_total": len(tally.acked_at),
        "lost": len(lost),
        "lost_sample": lost[:5],
        "errors": dict(tally.errors),
    }


async def latency(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop: messages at a fixed total rate, spread over both members of every pair;
    latency runs from the moment a message was due to its receipt by the other member."""
    tally = Tally()
    probe = probe_of(spec)
    members = await open_pairs(spec, tally)
    rate = float(spec["rate"])
    interval = len(members) / rate  # each member's gap between two sends
    due: dict[str, float] = {}
    begin = time.perf_counter() + 0.2
    finish = begin + spec["warmup"] + spec["duration"]

    async def sender(member: Member) -> None:
        moment = begin + random.uniform(0, interval)
        while moment < finish:
            pause = moment - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            client_id = str(uuid.uuid4())
            due[client_id] = moment
            try:
                await member.client.send(member.conversation, client_id=client_id)
            except ConnectionClosed:
                tally.errors["closed"] += 1
                return
            moment += interval

    senders = [asyncio.create_task(sender(member)) for member in members]
    await asyncio.sleep(begin + spec["warmup"] - time.perf_counter())
    load_before, before, start = self_cpu(), probe.sample(), time.perf_counter()
    await asyncio.sleep(max(0.0, finish - time.perf_counter()))
    after, end, load_after = probe.sample(), time.perf_counter(), self_cpu()
    await asyncio.gather(*senders)
    measured = [key for key, moment in due.items() if start <= moment < end]
    await drain(tally, measured)
    window = end - start
    acked = tally.acked_between(start, end)
    lost = tally.lost()
    await bounded((member.client.close() for member in members), CONNECT_CONCURRENCY)
    return {
        "offered_msgs_per_s": rate,
        "senders": len(members),
        "window_s": round(window, 3),
        "sent_in_window": len(measured),
        "acked_in_window": acked,
        "delivery": latency_summary(delays(due, tally.delivered_at, measured)),
        "ack": latency_summary(delays(due, tally.acked_at, measured)),
        "undelivered_in_window": sum(1 for key in measured if key not in tally.delivered_at),
        **cpu_result(cpu_delta(before, after), acked, window, load_after - load_before),
        "lost": len(lost),
        "errors": dict(tally.errors),
    }


async def idle(spec: dict[str, Any]) -> dict[str, Any]:
    """Many signed-in sockets that only stay open: memory per socket, connections per second."""
    tally = Tally()
    probe = probe_of(spec)
    users = spec["idle"]
    # Warm the server first (lazy imports, pools), so the first socket's one-off costs are
    # not spread over the measured ones.
    for index, user in enumerate(users[:5]):
        warm = await open_client(spec, -1 - index, user["session"], tally)
        await warm.ping()
        await warm.close()
    await asyncio.sleep(1.0)
    rss_before, cpu_before, start = probe.rss_kb(), probe.sample(), time.perf_counter()

    deadline = start + spec["connect_deadline"]
    skipped = 0

    async def one(index: int, user: dict[str, Any]) -> Client | None:
        nonlocal skipped
        if time.perf_counter() > deadline:  # bounded in time: report how many made it
            skipped += 1
            return None
        try:
            client = await open_client(spec, index, user["session"], tally)
            await client.ping()  # answered: the socket is accepted and signed in
            return client
        except CONNECT_FAILURES as error:
            tally.errors[type(error).__name__] += 1
            return None

    opened = await bounded((one(i, user) for i, user in enumerate(users)), CONNECT_CONCURRENCY)
    connect_window = time.perf_counter() - start
    cpu_opened = probe.sample()
    clients = [client for client in opened if client is not None]
    await asyncio.sleep(spec["hold"])
    rss_after, cpu_held = probe.rss_kb(), probe.sample()
    still_open = sum(1 for client in clients if not client.reader.done())
    await bounded((client.close() for client in clients), CONNECT_CONCURRENCY * 4)
    count = len(clients)
    held = cpu_delta(cpu_opened, cpu_held)
    return {
        "sockets": count,
        "still_open_after_hold": still_open,
        "failed": len(users) - count - skipped,
        "not_attempted_after_deadline": skipped,
        "connect_window_s": round(connect_window, 3),
        "connections_per_s": round(count / connect_window, 1),
        "connect_cpu_s": cpu_delta(cpu_before, cpu_opened),
        "server_cpu_ms_per_connect": round(
            (cpu_opened.server - cpu_before.server) * 1000 / count, 3
        )
        if count
        else None,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "kb_per_idle_socket": round((rss_after - rss_before) / count, 2) if count else None,
        "hold_s": spec["hold"],
        "hold_cpu_s": held,
        "errors": dict(tally.errors),
    }


async def storm(spec: dict[str, Any]) -> dict[str, Any]:
    """Reconnect storm: every client reconnects at once after a server restart and catches
    up from the last ``seq`` it holds; one side of each pair missed ``missed`` messages."""
    tally = Tally()
    members = await open_pairs(spec, tally)
    missed = int(spec["missed"])
    side_a, side_b = members[0::2], members[1::2]
    # The b side goes away; the a side writes what b will have to catch up on.
    await bounded((member.client.close() for member in side_b), CONNECT_CONCURRENCY)
    heads: dict[str, int] = {}

    async def write(member: Member) -> None:
        for _ in range(missed):
            frame = await member.client.say(member.conversation)
            if frame.get("type") == "ack":
                heads[member.conversation] = int(frame["seq"])

    await bounded((write(member) for member in side_a), CONNECT_CONCURRENCY)
    marks = {id(member): member.client.last_seq for member in members}
    for member in side_a:  # a has seen its own messages come back: its mark is the head
        marks[id(member)] = max(marks[id(member)], heads.get(member.conversation, 0))
    print(json.dumps({"event": "restart"}), flush=True)
    reply = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    new_pid = int(reply.split()[1])
    start = time.perf_counter()
    await asyncio.gather(
        *(m.client.close() for m in side_a), return_exceptions=True
    )  # closed by the restart already; this collects their readers
    pairs = {pair["conversation"]: pair for pair in spec["pairs"]}
    caught_up: list[float] = []
    attempts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    failure_kinds: Counter[str] = Counter()  # why attempts failed, by exception
    catch_up_lost = 0
    deadline = start + spec["deadline"]

    async def reconnect(index: int, member: Member) -> None:
        nonlocal catch_up_lost
        pair = pairs[member.conversation]
        session = pair["a" if index % 2 == 0 else "b"]["session"]
        attempt = 0
        while time.perf_counter() < deadline:
            attempts["connect"] += 1
            try:
                client = await open_client(spec, index, session, Tally())
                frame = await client.subscribe(member.conversation, after=marks[id(member)])
            except CONNECT_FAILURES as error:
                failure_kinds[type(error).__name__] += 1
                # The web app's backoff (frontend/static/frontend/chat-socket.js): a ceiling
                # doubling from 500 ms up to 10 s, half of it fixed and half random.
                attempts["failed"] += 1
                ceiling = min(BACKOFF_CAP_S, 0.5 * 2**attempt)
                await asyncio.sleep(ceiling / 2 + random.uniform(0, ceiling / 2))
                attempt += 1
                continue
            caught_up.append(time.perf_counter() - start)
            head = heads.get(member.conversation, 0)
            got = [m for m in client.history if m.get("kind") == "text"]
            if index % 2 == 1 and (len(got) < missed or int(frame.get("head", 0)) < head):
                catch_up_lost += missed - len(got)
            await client.close()
            return
        failures["deadline"] += 1

    await asyncio.gather(*(reconnect(index, member) for index, member in enumerate(members)))
    return {
        "clients": len(members),
        "missed_per_b_client": missed,
        "server_pid_after_restart": new_pid,
        "caught_up": len(caught_up),
        "time_to_caught_up": {
            key.replace("_ms", "_s"): (None if value is None else round(value / 1000, 3))
            if key != "count"
            else value
            for key, value in latency_summary(caught_up).items()
        },
        "connect_attempts": attempts["connect"],
        "failed_attempts": attempts["failed"],
        "failed_attempts_by_kind": dict(failure_kinds),
        "failed": dict(failures),
        "not_caught_up": len(members) - len(caught_up),
        "lost": catch_up_lost,
    }


WORKLOADS = {"throughput": throughput, "latency": latency, "idle": idle, "storm": storm}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    raise_fd_limit()
    result = asyncio.run(WORKLOADS[spec["workload"]](spec))
    print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    main()
