"""Jikan's limits: no 1-second window over 3 requests, no 60-second window over 60; on a fake clock in one
process, and on Redis's clock across processes."""

from __future__ import annotations

import threading

import pytest
import redis

from animerec.crawler import ratelimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send_times(limiter, clock, n, spacing=0.0):
    times = []
    for _ in range(n):
        times.append(clock.now + limiter.reserve())
        clock.now += spacing
    return times


def max_in_window(times, window):
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_burst_is_spread_within_both_windows():
    clock = Clock()
    limiter = ratelimit.RateLimiter(ratelimit.jikan_windows(3, 60), clock)
    times = send_times(limiter, clock, 200)
    assert max_in_window(times, 1.0) == 3
    assert max_in_window(times, 60.0) == 60
    # tight, not just safe: the first 3 go at once, the 61st exactly one minute after the first
    assert times[:3] == [1000.0] * 3 and times[3] == 1001.0
    assert times[60] == 1060.0


def test_slow_callers_never_wait():
    clock = Clock()
    limiter = ratelimit.RateLimiter(ratelimit.jikan_windows(3, 60), clock)
    waits = []
    for _ in range(30):
        waits.append(limiter.reserve())
        clock.now += 1.5
    assert waits == [0.0] * 30


def test_disabled_windows_do_not_limit():
    clock = Clock()
    limiter = ratelimit.RateLimiter(ratelimit.jikan_windows(0, 0), clock)
    assert send_times(limiter, clock, 50) == [1000.0] * 50


# --- shared across processes (real Redis) ----------------------------------------------------------------------

def in_any_window(times, window, eps=1e-6):
    """The most send times inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max(sum(1 for u in times if t - eps <= u < t + window - eps) for t in times)


@pytest.mark.integration
def test_replicas_share_one_budget(redis_url):
    """Four "replicas" (threads with their own clients) reserve at once: together they keep Jikan's limits,
    because the granted times live in one Redis sorted set updated atomically."""
    key = "animerec:test:ratelimit:jikan"
    clients = [redis.Redis.from_url(redis_url) for _ in range(4)]
    limiters = [ratelimit.SharedRateLimiter(c, key, ratelimit.RateLimiter(ratelimit.jikan_windows(3, 60)))
                for c in clients]
    waits: list[float] = []

    def replica(limiter):
        for _ in range(30):
            waits.append(limiter.reserve())

    threads = [threading.Thread(target=replica, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = [score for _, score in clients[0].zrange(key, 0, -1, withscores=True)]
    assert len(granted) == 120
    assert in_any_window(granted, 1.0) == 3 and in_any_window(granted, 60.0) == 60
    # tight: 3 go at once, and the 61st waits for the first to leave the minute
    assert sorted(waits)[:3] == pytest.approx([0, 0, 0], abs=0.05)
    assert sorted(granted)[60] - sorted(granted)[0] == pytest.approx(60.0, abs=1e-3)
    assert 0 < clients[0].pttl(key) <= (max(waits) + 60 + 1) * 1000 + 100  # the set expires once idle
    for c in clients:
        c.close()


def test_redis_down_falls_back_to_the_process_limit(caplog):
    clock = Clock()
    server = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    limiter = ratelimit.SharedRateLimiter(server, "k", ratelimit.RateLimiter(ratelimit.jikan_windows(3, 60), clock))
    attempts = []
    limiter._script = lambda **kw: attempts.append(1) or server.evalsha("0" * 40, 1, "k")  # counts tries
    assert send_times(limiter, clock, 5) == [1000.0] * 3 + [1001.0] * 2
    assert len(attempts) == 1  # then Redis is left alone for retry_after_s, not tried on every request
    assert sum("shared rate limit unavailable" in r.message for r in caplog.records) == 1


def test_each_process_limits_jikan_and_mal_through_redis_when_it_can(redis_url):
    from animerec.common import config
    from animerec.crawler.context import JIKAN_HOST, MAL_HOST, Shared
    from animerec.crawler.settings import CrawlerSettings

    settings = config.load(CrawlerSettings, {}, mal_rate_per_min=30, jikan_rate_per_s=3, jikan_rate_per_min=60)
    local = Shared(settings, None, None, None)
    assert isinstance(local.limiters[MAL_HOST], ratelimit.RateLimiter)
    assert local.limiters[MAL_HOST].windows == [(30, 60.0)]
    assert local.limiters[JIKAN_HOST].windows == [(3, 1.0), (60, 60.0)]
    server = redis.Redis.from_url(redis_url)
    shared = Shared(settings, None, None, None, limit_server=server, limit_prefix="t:")
    mal = shared.limiters[MAL_HOST]
    assert isinstance(mal, ratelimit.SharedRateLimiter) and mal.key == "t:crawler:ratelimit:myanimelist.net"
    waits = [mal.reserve() for _ in range(31)]
    assert waits[:30] == pytest.approx([0.0] * 30, abs=0.05) and waits[30] == pytest.approx(60.0, abs=0.1)
    off = Shared(config.load(CrawlerSettings, {}, mal_rate_per_min=0), None, None, None, limit_server=server)
    assert off.limiters[MAL_HOST].reserve() == 0.0  # 0: no cap
    server.close()
