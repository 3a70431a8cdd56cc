"""Per-key request limits on Redis: N requests per second and an optional daily quota.

One Lua script per request decides both atomically, so every web process and host shares the
counters. The second window is fixed and opens with the first request in it (INCR, then
PEXPIRE on the first); the quota counts requests per UTC day. A request refused by the
per-second limit does not use up quota. When Redis cannot be reached the limiter lets the
request through: keys are 256-bit secrets, so the limit guards capacity, not a password, and
the API must stay usable to diagnose that very outage.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from app.extensions import redis_client

log = logging.getLogger(__name__)

WINDOW_MS = 1000
_DAY_TTL_SEC = 2 * 86400

# Returns {verdict, requests in this window, window ms left, quota used today}; verdict 0
# allowed, 1 over the per-second limit, 2 quota used up.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then return {1, n, ttl, 0} end
local quota = tonumber(ARGV[3])
if quota == 0 then return {0, n, ttl, 0} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= quota then return {2, n, ttl, used} end
used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return {0, n, ttl, used}
"""


@dataclass(frozen=True)
class Decision:
    """The verdict on one request and the figures its response headers report."""

    allowed: bool
    limit: int
    remaining: int | None = None  # None: unknown (Redis unreachable)
    reset_sec: int | None = None
    quota: int | None = None
    quota_remaining: int | None = None
    quota_reset_sec: int | None = None
    retry_after: int | None = None
    message: str | None = None


def _seconds_to_midnight(now: datetime) -> int:
    now = now.astimezone(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


def _eval(script: str, keys: Sequence[str], *args: int) -> Any:
    """Run ``script``; redis-py types script arguments as text, and sends numbers as text."""
    return redis_client.conn.eval(script, len(keys), *keys, *(str(arg) for arg in args))


def hit(key_id: int, limit_per_sec: int, daily_quota: int | None, now: datetime) -> Decision:
    """Count one request of key ``key_id`` and say whether it may proceed."""
    day = now.astimezone(UTC).date().isoformat()
    # One hash tag per key keeps both counters in one slot of a Redis Cluster.
    keys = (f"upcron:ratelimit:{{{key_id}}}:sec", f"upcron:ratelimit:{{{key_id}}}:day:{day}")
    try:
        verdict, count, ttl_ms, used = _eval(
            _HIT, keys, limit_per_sec, WINDOW_MS, daily_quota or 0, _DAY_TTL_SEC
        )
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable (%s); request let through", exc)
        return Decision(allowed=True, limit=limit_per_sec, quota=daily_quota)
    reset_sec = max(1, math.ceil(int(ttl_ms) / 1000))
    allowed = Decision(
        allowed=True,
        limit=limit_per_sec,
        remaining=max(0, limit_per_sec - int(count)),
        reset_sec=reset_sec,
        quota=daily_quota or None,
        quota_remaining=max(0, daily_quota - int(used)) if daily_quota else None,
        quota_reset_sec=_seconds_to_midnight(now) if daily_quota else None,
    )
    if verdict == 1:
        return replace(
            allowed,
            allowed=False,
            retry_after=reset_sec,
            message=f"Rate limit exceeded: this key may make {limit_per_sec} requests per second.",
        )
    if verdict == 2:
        return replace(
            allowed,
            allowed=False,
            retry_after=allowed.quota_reset_sec,
            message=(
                f"Daily quota exceeded: this key may make {daily_quota} requests per day "
                "(the count resets at 00:00 UTC)."
            ),
        )
    return allowed


# --- fixed windows aligned to the epoch ----------------------------------------------------

# KEYS: one counter per window; ARGV: the limit of each window, then the TTL of each. Counts
# only when every window still has room, so a refused request uses up none of them.
_WINDOWS = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[i]) then return i end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('EXPIRE', key, ARGV[#KEYS + i])
  end
end
return 0
"""


def hit_windows(
    key_id: int, name: str, windows: Sequence[tuple[int, int]], now: datetime
) -> int | None:
    """Count one request of key ``key_id`` to operation ``name`` against fixed windows.

    ``windows`` holds (limit, seconds) pairs, such as 1 per second and 5 per minute. Each
    window is aligned to the epoch (a minute window resets at :00), the way the cron-job.org
    API counts its per-method limits. Returns None when allowed, else the seconds until the
    full window opens again. Like ``hit``, it lets requests through while Redis is down.
    """
    epoch = int(now.timestamp())
    keys = [
        f"upcron:ratelimit:{{{key_id}}}:{name}:{seconds}:{epoch // seconds}"
        for _, seconds in windows
    ]
    args = [limit for limit, _ in windows] + [seconds * 2 for _, seconds in windows]
    try:
        full = int(_eval(_WINDOWS, keys, *args))
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable (%s); request let through", exc)
        return None
    if not full:
        return None
    seconds = windows[full - 1][1]
    return seconds - epoch % seconds
