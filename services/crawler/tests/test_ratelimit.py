"""Jikan's limits on a fake clock: no 1-second window over 3 requests, no 60-second window over 60."""

from __future__ import annotations

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
    limiter = ratelimit.jikan(3, 60, clock)
    times = send_times(limiter, clock, 200)
    assert max_in_window(times, 1.0) == 3
    assert max_in_window(times, 60.0) == 60
    # tight, not just safe: the first 3 go at once, the 61st exactly one minute after the first
    assert times[:3] == [1000.0] * 3 and times[3] == 1001.0
    assert times[60] == 1060.0


def test_slow_callers_never_wait():
    clock = Clock()
    limiter = ratelimit.jikan(3, 60, clock)
    waits = []
    for _ in range(30):
        waits.append(limiter.reserve())
        clock.now += 1.5
    assert waits == [0.0] * 30


def test_disabled_windows_do_not_limit():
    clock = Clock()
    limiter = ratelimit.jikan(0, 0, clock)
    assert send_times(limiter, clock, 50) == [1000.0] * 50
