"""A per-user send budget, shared by every process through the cache (Redis when configured)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def _rate() -> tuple[int, int]:
    count, _, seconds = settings.CHATBOX_SEND_RATE.partition("/")
    return int(count), int(seconds)


def send_allowed(*, user_id: int) -> bool:
    """Count one send in the current fixed window; False once the window's budget is spent."""
    limit, window = _rate()
    key = f"chatbox:sends:{user_id}:{int(time.time() // window)}"
    # add() only sets a missing key, so the first send of a window starts it at 1.
    if cache.add(key, 1, timeout=window * 2):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window * 2)
        return True
