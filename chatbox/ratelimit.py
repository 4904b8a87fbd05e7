"""A per-user send budget, shared by every process through the cache (Redis when configured)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def _rate() -> tuple[int, int]:
    count, _, seconds = settings.CHATBOX_SEND_RATE.partition("/")
    return int(count), int(seconds)


def send_allowed(*, user_id: int) -> bool:
    """Count one send in the user's window; False once the window's budget is spent.

    A window opens with the first send after a quiet spell and lasts ``seconds``, so a burst
    always meets the budget: windows aligned to the clock let a burst that straddles a
    boundary through at twice the rate.
    """
    limit, window = _rate()
    now = time.time()
    opened_key = f"chatbox:sends:{user_id}"
    cache.add(opened_key, now, timeout=window)
    opened = cache.get(opened_key, now)
    # The counter is named by its window: should an incr() race the expiry and recreate the
    # key without one (Redis), that stray key is never counted in again.
    count_key = f"chatbox:sends:{user_id}:{opened}"
    # add() only sets a missing key, so the first send of a window starts it at 1.
    if cache.add(count_key, 1, timeout=window):
        return True
    try:
        return cache.incr(count_key) <= limit
    except ValueError:  # expired between add() and incr()
        cache.add(count_key, 1, timeout=window)
        return True
