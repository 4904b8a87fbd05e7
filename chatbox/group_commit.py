"""Group commit: the sends of every socket of a server process, stored a batch at a time.

A socket's ``send`` waits here instead of taking a database thread of its own. One writer
task per event loop takes whatever has queued up while the previous batch was being stored
and stores it with ``services.messages_send``: one thread hop and one transaction for the
whole batch. Each sender hears back only once its message is committed, so an ``ack`` still
means "stored" (PROTOCOL.md §3). Under light load a batch holds one message and nothing
waits; under heavy load batches grow by themselves, without a timer.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from chatbox import services
from chatbox.models import Event
from chatbox.ratelimit import sends_allowed, too_fast

# More would only hold the first sender of a batch longer.
BATCH_MAX = 256

_Waiting = tuple[services.SendRequest, "asyncio.Future[Event]"]


@dataclass
class _Queue:
    waiting: list[_Waiting] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()


def message_send(request: services.SendRequest) -> asyncio.Future[Event]:
    """Queue ``request`` for the next batch, at once (sends are stored in the order they were
    queued); the future is its event once committed, or the error that refused it
    (``services.message_send``, after spending one send of the user's budget)."""
    loop = asyncio.get_running_loop()
    queue = _queues.setdefault(loop, _Queue())
    stored: asyncio.Future[Event] = loop.create_future()
    queue.waiting.append((request, stored))
    if queue.writer is None or queue.writer.done():
        queue.writer = loop.create_task(_write(queue))
    return stored


async def _write(queue: _Queue) -> None:
    while queue.waiting:
        batch = queue.waiting[:BATCH_MAX]
        del queue.waiting[:BATCH_MAX]
        try:
            results = await _store([request for request, _ in batch])
        except Exception as exc:  # every sender of the batch hears of it, none waits forever
            results = [exc] * len(batch)
        for (_, stored), result in zip(batch, results, strict=True):
            if stored.done():  # the socket went away while it waited; the message stays stored
                continue
            if isinstance(result, Exception):
                stored.set_exception(result)
            else:
                stored.set_result(result)


@database_sync_to_async
def _store(requests: list[services.SendRequest]) -> list[Event | Exception]:
    """Spend each sender's budget, then store the sends it allows, all on one thread hop."""
    within = sends_allowed(user_ids=[request.sender.pk for request in requests])
    allowed = [request for request, ok in zip(requests, within, strict=True) if ok]
    stored = iter(services.messages_send(requests=allowed) if allowed else [])
    return [next(stored) if ok else too_fast() for ok in within]
