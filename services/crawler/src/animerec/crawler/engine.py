"""One Twisted reactor per process, in a thread of its own, running the anime, profile and seed crawlers.

Twisted's reactor cannot be restarted, so the crawlers live as long as the process: jobs are fed
to them (`submit`, from any thread) instead of starting a crawl per batch. Callers get a
concurrent.futures.Future per job that resolves once the job's items are in the sink and its
bookkeeping is committed: the Kafka worker commits offsets on it, the HTTP service awaits it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Any

from . import itemsink, middlewares, spiders
from .context import Shared
from .jobs import Job, JobResult
from .targets import Target

log = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
SPIDERS = {"anime": spiders.AnimeSpider, "profile": spiders.ProfileSpider, "seed": spiders.SeedSpider}
RETRY_CODES = [408, 429, 500, 502, 503, 504, 522, 524]


class EngineError(RuntimeError):
    pass


def scrapy_settings(shared: Shared) -> dict:
    s = shared.settings
    per_host = {"concurrency": s.concurrent_per_host}
    return {
        "BOT_NAME": "animerec",
        "TWISTED_REACTOR": REACTOR,
        "USER_AGENT": s.user_agent,
        "ROBOTSTXT_OBEY": s.obey_robots,
        "CONCURRENT_REQUESTS": s.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": s.concurrent_per_host,
        # Slots are named after the real host (request meta download_slot), so MAL and Jikan keep separate
        # politeness even when both are served by one mirror. Jikan's pace is set by its rate limiter.
        "DOWNLOAD_SLOTS": {"myanimelist.net": {**per_host, "delay": s.mal_delay_s},
                           "api.jikan.moe": {**per_host, "delay": 0}},
        "DOWNLOAD_DELAY": s.mal_delay_s,
        "AUTOTHROTTLE_ENABLED": s.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(s.mal_delay_s, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, s.mal_delay_s),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": s.autothrottle_target,
        "DOWNLOAD_TIMEOUT": s.timeout_s,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": s.retries,
        "RETRY_HTTP_CODES": RETRY_CODES,
        "ANIMEREC_BACKOFF_BASE_S": s.backoff_base_s,
        "ANIMEREC_BACKOFF_MAX_S": s.backoff_max_s,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            f"{middlewares.__name__}.BackoffRetryMiddleware": 550,
            f"{middlewares.__name__}.PolitenessMiddleware": 950,
        },
        "ITEM_PIPELINES": {f"{itemsink.__name__}.ItemSink": 300},
        "DUPEFILTER_CLASS": "animerec.crawler.dupefilter.RecentCrawlsDupeFilter",
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": False,
        "LOGSTATS_INTERVAL": 0,
        "MEMUSAGE_ENABLED": False,
        # Items of one page processed at once (each waits for its sink ack). Scrapy starts this many tasks
        # per page, so a large value costs more than it gains: pages carry tens of items, not hundreds.
        "CONCURRENT_ITEMS": 16,
    }


class CrawlEngine:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._spiders: dict[str, spiders.JobSpider] = {}
        self._error: BaseException | None = None
        self._reactor: Any = None   # the installed reactor (asyncio), once the thread started it

    def start(self, timeout: float = 60.0) -> CrawlEngine:
        self._thread = threading.Thread(target=self._run, name="scrapy-reactor", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise EngineError(f"crawl engine did not start: {self._error or 'timeout'}")
        return self

    def _run(self) -> None:
        try:
            from scrapy.utils.reactor import install_reactor
            install_reactor(REACTOR)
            from scrapy import signals
            from scrapy.crawler import CrawlerRunner
            from twisted.internet import reactor
            self._reactor = reactor
            runner = CrawlerRunner(scrapy_settings(self.shared))
            opened: list[str] = []

            def on_open(spider) -> None:
                self._spiders[spider.name] = spider
                opened.append(spider.name)
                if len(opened) == len(SPIDERS):
                    self._ready.set()

            for cls in SPIDERS.values():
                crawler = runner.create_crawler(cls)
                crawler.signals.connect(on_open, signals.spider_opened)
                runner.crawl(crawler, shared=self.shared).addErrback(self._failed)
            self._reactor.run(installSignalHandlers=False)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise

    def _failed(self, failure) -> None:
        log.error("crawler failed", extra={"error": failure.getErrorMessage()})
        self._error = failure.value
        self._ready.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set() and self._error is None

    def submit(self, target: Target, *, collect: bool = False, force: bool = False,
               max_pages: int | None = None) -> Future[JobResult]:
        """Crawl one anime, profile or seed listing; thread-safe."""
        if not self.running:
            raise EngineError("crawl engine is not running")
        job = Job(target, collect=collect, force=force, max_pages=max_pages)
        self._reactor.callFromThread(self._spiders[target.kind].add_job, job)
        return job.future

    def in_flight(self) -> int:
        return len(self.shared.jobs)

    def stop(self, timeout: float = 30.0) -> None:
        if self._reactor is not None and self._thread is not None and self._thread.is_alive():
            self._reactor.callFromThread(self._reactor.stop)
            self._thread.join(timeout)
