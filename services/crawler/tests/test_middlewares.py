"""Retry-After parsing and the back-off of the download middleware."""

from __future__ import annotations

import time
from email.utils import formatdate

from animerec.crawler import middlewares


def test_retry_after_seconds_and_http_date():
    assert middlewares.retry_after_seconds(b"7") == 7.0
    now = time.time()
    assert 55 <= middlewares.retry_after_seconds(formatdate(now + 60, usegmt=True), now) <= 61
    assert middlewares.retry_after_seconds(formatdate(now - 60, usegmt=True), now) == 0.0
    assert middlewares.retry_after_seconds(None) is None
    assert middlewares.retry_after_seconds(b"soon") is None


def test_backoff_doubles_up_to_the_cap():
    assert [middlewares.backoff_delay(n, 2.0, 20.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 20.0]
