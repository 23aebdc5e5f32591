"""Assemble a crawl process: settings, sink, bookkeeping, shared dupefilter, engine; and take it down."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from animerec.common import config
from animerec.common import log as logsetup
from animerec.common.config import CoreSettings

from . import sinks
from .bookkeeping import Bookkeeper
from .context import Shared
from .dupefilter import RecentCrawls
from .engine import CrawlEngine
from .settings import CrawlerSettings


def load_settings(**overrides) -> CrawlerSettings:
    return config.load(CrawlerSettings, **overrides)


def setup_logging(core: CoreSettings) -> logging.Logger:
    logger = logsetup.setup("crawler", core.log_level, core.log_format)
    # Scrapy's own INFO lines (every request, stats) would drown the service's logs.
    for name in ("scrapy", "scrapy_redis", "twisted", "protego"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    return logger


@contextlib.contextmanager
def running(core: CoreSettings, settings: CrawlerSettings, *, sink: str | sinks.Sink = "kafka", out: str = "-",
            bookkeeping: bool | None = None, dupefilter: bool = True) -> Iterator[CrawlEngine]:
    """A started engine; on exit: stop taking work, flush bookkeeping, close the sink."""
    the_sink = sink if isinstance(sink, sinks.Sink) else sinks.make(
        sink, core, out=out, dead_letter_max_bytes=settings.dead_letter_max_bytes)
    keep_books = settings.bookkeeping if bookkeeping is None else bookkeeping
    book = Bookkeeper(core.postgres_url if keep_books else None, flush_s=settings.bookkeeping_flush_s,
                      batch_rows=settings.bookkeeping_batch).start()
    recent = RecentCrawls.from_url(core.redis_url if dupefilter else None, core.redis_prefix,
                                   settings.dupefilter_ttl_s)
    limit_server = None
    if settings.shared_rate_limits and core.redis_url:
        import redis
        # No retries: a limiter that cannot reach Redis falls back to this process's limit at once.
        limit_server = redis.Redis.from_url(core.redis_url, socket_timeout=2, socket_connect_timeout=2, retry=None)
    engine = CrawlEngine(Shared(settings, the_sink, book, recent, limit_server=limit_server,
                                limit_prefix=core.redis_prefix))
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()
        book.stop()
        the_sink.close()
        if limit_server is not None:
            limit_server.close()
