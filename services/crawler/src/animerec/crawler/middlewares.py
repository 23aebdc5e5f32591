"""Downloader middlewares: politeness delays (Jikan's rate limits, retry back-off) and retries that
honour Retry-After and back off exponentially on 5xx and network errors."""

from __future__ import annotations

import email.utils
import logging
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

from . import metrics, ratelimit
from .targets import origin

log = logging.getLogger(__name__)

NOT_BEFORE = "animerec_not_before"   # request meta: wall-clock time before which it must not be sent
HOST = "download_slot"               # request meta: the real host (politeness slot), even on a mirror


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(retry: int, base: float, cap: float) -> float:
    """Delay before retry number `retry` (1, 2, ...): base, 2*base, 4*base ... at most `cap`."""
    return min(cap, base * (2 ** max(0, retry - 1)))


class PolitenessMiddleware:
    """Holds a request until its retry delay passed and the host's rate limit lets it go."""

    def __init__(self, limiters: dict[str, ratelimit.RateLimiter], hosts: set[tuple[str, str, int]]) -> None:
        self.limiters = limiters
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler):
        # Limiters are per process (shared by the anime, profile and seed crawlers), not per crawler.
        shared = crawler.spider.shared
        return cls(shared.limiters, shared.fetch_hosts())

    async def process_request(self, request):
        from twisted.internet import reactor  # the installed one; importing at module level would install one

        if origin(request.url) not in self.hosts:
            # Redirects and robots.txt requests too: nothing leaves for a host other than MAL / Jikan (or the mirror).
            raise IgnoreRequest(f"{request.url[:200]}: not a MyAnimeList / Jikan host")

        wait = max(0.0, request.meta.get(NOT_BEFORE, 0.0) - time.time())
        if wait > 0:
            await maybe_deferred_to_future(deferLater(reactor, wait))
        limiter = self.limiters.get(request.meta.get(HOST, ""))
        if limiter is not None:
            wait = limiter.reserve()
            if wait > 0:
                metrics.RATE_LIMIT_WAIT.labels(request.meta.get(HOST, "")).observe(wait)
                await maybe_deferred_to_future(deferLater(reactor, wait))
        request.meta["animerec_sent_at"] = time.monotonic()
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, delayed: Retry-After when the server gives one, else exponential back-off."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("ANIMEREC_BACKOFF_BASE_S")
        self.cap = settings.getfloat("ANIMEREC_BACKOFF_MAX_S")

    def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        after = retry_after_seconds(response.headers.get(b"Retry-After"))
        retried = self._delayed_retry(request, response_status_message(response.status), after)
        return retried or response

    def process_exception(self, request, exception):
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry", False):
            return self._delayed_retry(request, exception, None)
        return None

    def _delayed_retry(self, request, reason, retry_after: float | None):
        retry = get_retry_request(request, reason=reason, spider=self.crawler.spider,
                                  max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
                                  priority_adjust=self.priority_adjust)
        if retry is None:
            return None
        n = retry.meta.get("retry_times", 1)
        delay = min(self.cap, retry_after) if retry_after is not None else backoff_delay(n, self.base, self.cap)
        retry.meta[NOT_BEFORE] = time.time() + delay
        kind = "retry_after" if retry_after is not None else "backoff"
        metrics.RETRIES.labels(request.meta.get(HOST, ""), kind).inc()
        log.info("retrying", extra={"url": request.url, "reason": str(reason), "retry": n, "delay_s": delay})
        return retry
