"""Sliding-window rate limits, e.g. Jikan's documented 3 requests/second and 60/minute.

`reserve()` hands out send times: each caller gets the earliest moment at which sending keeps every
window within its limit, so concurrent requests queue up instead of bursting.

Jikan counts requests per client IP, and every crawler replica of a cluster usually leaves through the same
NAT: `SharedRateLimiter` keeps the granted times in Redis (one sorted set, updated by one Lua script on the
server's clock), so all processes together stay within the limits. When Redis is unreachable it falls back to
the process's own limiter, which is still correct for a single replica.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, windows: list[tuple[float, float]], clock: Callable[[], float] = time.monotonic) -> None:
        """`windows`: (max requests, seconds) pairs; a pair with max <= 0 is ignored."""
        self.windows = [(int(n), float(w)) for n, w in windows if n and n > 0]
        self.span = max((w for _, w in self.windows), default=0.0)  # how long a grant still counts
        self.clock = clock
        self._granted: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Seconds to wait before sending; the slot is taken on return."""
        if not self.windows:
            return 0.0
        with self._lock:
            now = self.clock()
            while self._granted and self._granted[0] <= now - self.span:
                self._granted.popleft()
            at = max(now, self._granted[-1]) if self._granted else now
            for limit, window in self.windows:
                if len(self._granted) >= limit:
                    at = max(at, self._granted[-limit] + window)
            self._granted.append(at)
            return at - now


def jikan_windows(per_second: float, per_minute: float) -> list[tuple[float, float]]:
    return [(per_second, 1.0), (per_minute, 60.0)]


# The same rule as RateLimiter.reserve, on the Redis server's clock. Granted send times are the scores of one
# sorted set; members are unique tokens. ARGV: token, span, then (limit, window) pairs.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local span = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
local at = now
if count > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  at = math.max(at, tonumber(last[2]))
end
for i = 3, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  if count >= limit then
    local nth = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    at = math.max(at, tonumber(nth[2]) + tonumber(ARGV[i + 1]))
  end
end
redis.call('ZADD', KEYS[1], at, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + span) * 1000) + 1000)
return tostring(at - now)
"""


class SharedRateLimiter:
    """`fallback`'s windows counted in Redis under `key`, for every process; `fallback` itself serves while
    Redis is unreachable."""

    def __init__(self, server: redis.Redis, key: str, fallback: RateLimiter, retry_after_s: float = 30.0) -> None:
        self.fallback = fallback
        self.windows = fallback.windows
        self.key = key
        self.server = server
        self._script = server.register_script(_RESERVE)
        self.retry_after_s = retry_after_s
        self._degraded = False
        self._retry_at = 0.0

    def reserve(self) -> float:
        if not self.windows:
            return 0.0
        if self._degraded and time.monotonic() < self._retry_at:
            return self.fallback.reserve()  # not every request should wait for a dead server's timeout
        args = [secrets.token_hex(8), self.fallback.span]
        for limit, window in self.windows:
            args += [limit, window]
        try:
            wait = float(self._script(keys=[self.key], args=args))
        except redis.RedisError as exc:
            if not self._degraded:
                log.warning("shared rate limit unavailable: limiting this process only",
                            extra={"key": self.key, "error": f"{type(exc).__name__}: {exc}"})
                self._degraded = True
            self._retry_at = time.monotonic() + self.retry_after_s
            return self.fallback.reserve()
        if self._degraded:
            log.info("shared rate limit back", extra={"key": self.key})
            self._degraded = False
        return max(0.0, wait)
