"""A per-user send budget, shared by every process through Redis (the cache without it).

A window opens with the first send after a quiet spell and lasts ``seconds``, so a burst
always meets the budget: windows aligned to the clock let a burst that straddles a boundary
through at twice the rate. A batch of sends (``chatbox.group_commit``) spends its budgets in
one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache as memoised

import redis
from django.conf import settings
from django.core.cache import cache

from chatbox.errors import ApplicationError, ErrorCode

# Count one send per key, in order; the first send of a window starts the window's clock.
# One script, so the count and its expiry never come apart (an INCR that raced the expiry
# would otherwise leave a counter that never expires).
_SPEND = """
local counts = {}
for index, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[index] = count
end
return counts
"""


def _rate() -> tuple[int, int]:
    count, _, seconds = settings.CHATBOX_SEND_RATE.partition("/")
    return int(count), int(seconds)


@memoised
def _spend_script(url: str) -> redis.commands.core.Script:
    return redis.Redis.from_url(url).register_script(_SPEND)


def _key(user_id: int) -> str:
    return f"{settings.KEY_PREFIX}:chatbox:sends:{user_id}"


def _spent_in_cache(key: str, window: int) -> int:
    """The same count in Django's cache, for a single process without Redis."""
    cache.add(key, 0, timeout=window)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window ended between add() and incr()
        cache.add(key, 1, timeout=window)
        return 1


def sends_allowed(*, user_ids: Sequence[int]) -> list[bool]:
    """Count one send for each entry of ``user_ids`` (a user may appear more than once);
    whether each is within its user's budget."""
    if not user_ids:
        return []
    limit, window = _rate()
    keys = [_key(user_id) for user_id in user_ids]
    if settings.REDIS_URL:
        counts = _spend_script(settings.REDIS_URL)(keys=keys, args=[window])
    else:
        counts = [_spent_in_cache(key, window) for key in keys]
    return [int(count) <= limit for count in counts]


def too_fast() -> ApplicationError:
    return ApplicationError(ErrorCode.RATE_LIMITED, "You are sending too fast; wait a few seconds.")


def send_budget_spend(*, user_id: int) -> None:
    """Count one send; ``rate_limited`` once the user's budget for the window is spent."""
    if not sends_allowed(user_ids=[user_id])[0]:
        raise too_fast()
