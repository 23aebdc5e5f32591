"""Sliding-window rate limits, e.g. Jikan's documented 3 requests/second and 60/minute.

`reserve()` hands out send times: each caller gets the earliest moment at which sending keeps every
window within its limit, so concurrent requests queue up instead of bursting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, windows: list[tuple[float, float]], clock: Callable[[], float] = time.monotonic) -> None:
        """`windows`: (max requests, seconds) pairs; a pair with max <= 0 is ignored."""
        self.windows = [(int(n), float(w)) for n, w in windows if n and n > 0]
        self.clock = clock
        self._granted: deque[float] = deque()
        self._span = max((w for _, w in self.windows), default=0.0)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Seconds to wait before sending; the slot is taken on return."""
        if not self.windows:
            return 0.0
        with self._lock:
            now = self.clock()
            while self._granted and self._granted[0] <= now - self._span:
                self._granted.popleft()
            at = max(now, self._granted[-1]) if self._granted else now
            for limit, window in self.windows:
                if len(self._granted) >= limit:
                    at = max(at, self._granted[-limit] + window)
            self._granted.append(at)
            return at - now


def jikan(per_second: float, per_minute: float, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
    return RateLimiter([(per_second, 1.0), (per_minute, 60.0)], clock)
