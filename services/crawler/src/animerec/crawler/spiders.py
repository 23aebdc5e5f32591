"""The anime, profile and seed spiders: long-lived, fed jobs by the engine, built on the parsers.

A job starts with its first page (the anime's main page, the profile); once that parsed, the other
sub-pages of the anime or profile are requested, and paged sub-pages follow their next page. Every
page's items go to the item pipeline (the sink), its anime / profile links to bookkeeping; a page
that fails to parse goes to the dead-letter place with the error and fails the job.
"""

from __future__ import annotations

import logging

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from animerec.common import contracts
from animerec.common.timefmt import now_iso
from animerec.crawler import parsers, urls

from . import metrics
from .dupefilter import JOB, ROOT
from .itemsink import deferred
from .jobs import Job
from .middlewares import HOST
from .targets import host_of, rebase

log = logging.getLogger(__name__)

URL = "animerec_url"       # request meta: the canonical URL (what the parser and bookkeeping see)
DEPTH = "animerec_depth"   # request meta: position in a chain of next pages


# Error statuses whose bodies the parsers read: MAL's 404 page, and load.json's 400 for a restricted list.
_PARSED_ERRORS = {"animelist": [400, 404]}


def _page_type(url: str) -> str | None:
    try:
        return urls.page_type(url)
    except ValueError:
        return None


def check(item: dict) -> None:
    """Schema check of an item; the fast yes/no first, the detailed error only for an invalid one."""
    item_type = item["item_type"]
    if item_type not in contracts.ITEM_TYPES:
        raise contracts.SchemaError(item_type, "not an item type")
    if not contracts.validator(item_type).is_valid(item):   # compiled once per process by contracts
        contracts.validate(item_type, item)


class JobSpider(scrapy.Spider):
    emits_items = True

    def __init__(self, shared, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shared = shared

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._keep_open, signals.spider_idle)
        crawler.signals.connect(spider._dropped, signals.request_dropped)
        crawler.signals.connect(spider._item_scraped, signals.item_scraped)
        crawler.signals.connect(spider._item_failed, signals.item_error)
        crawler.signals.connect(spider._item_dropped, signals.item_dropped)
        return spider

    async def start(self):
        # No start URLs: jobs arrive through add_job for as long as the process lives.
        return
        yield

    # -- jobs (reactor thread) ---------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        self.shared.jobs[job.id] = job
        metrics.JOBS_IN_FLIGHT.inc()
        first = job.target.start_urls()[0]
        job.request_issued()
        self.crawler.engine.crawl(self._request(job, first, root=True))

    def _request(self, job: Job, url: str, *, root: bool = False, depth: int = 0) -> scrapy.Request:
        settings = self.shared.settings
        meta = {JOB: job.id, ROOT: root, URL: url, DEPTH: depth, HOST: host_of(url),
                "handle_httpstatus_list": _PARSED_ERRORS.get(_page_type(url), [404])}
        return scrapy.Request(rebase(url, settings.mal_base_url, settings.jikan_base_url), callback=self.on_page,
                              errback=self.on_error, meta=meta, dont_filter=root and job.force)

    def _job(self, meta) -> Job | None:
        return self.shared.jobs.get(meta.get(JOB))

    def on_page(self, response):
        job = self._job(response.meta)
        if job is None:
            return []
        out: list = []
        try:
            self._page(job, response, out)
        except Exception as exc:  # a bug must fail this job, not leave it (and its Kafka offset) hanging
            log.exception("page handling failed", extra={"url": response.meta.get(URL)})
            job.errors.append(f"{response.meta.get(URL)}: internal error: {type(exc).__name__}: {exc}")
        finally:
            job.request_settled()
            self._maybe_finish(job)
        return out

    def _page(self, job: Job, response, out: list) -> None:
        url, root, depth = response.meta[URL], response.meta[ROOT], response.meta[DEPTH]
        job.pages += 1
        if "download_latency" in response.meta:
            metrics.FETCH_SECONDS.labels(response.meta[HOST]).observe(response.meta["download_latency"])
        try:
            page = parsers.parse(url, response.body, crawled_at=now_iso())
        except parsers.ParseError as exc:
            if response.status == 404:  # a 404 that is not MAL's own "not found" page
                page = parsers.Page(url=url, page_type=exc.page_type, source=urls.source_of(url), status="not_found")
            else:
                metrics.PAGES.labels(urls.source_of(url), exc.page_type, "parse_error").inc()
                metrics.PARSE_ERRORS.labels(exc.page_type).inc()
                job.errors.append(str(exc))
                self._dead_letter(job, "crawler.parse", str(exc), response.body, url)
                return
        metrics.PAGES.labels(page.source, page.page_type, page.status).inc()
        if root:
            job.root_status = page.status
            if page.status in ("ok", "empty"):
                for sub in job.target.start_urls()[1:]:
                    job.request_issued()
                    out.append(self._request(job, sub))
        if page.links:
            job.links.update(page.links)
            self.shared.bookkeeper.inspected(page.links)
        if self.emits_items:
            for item in page.items:
                try:
                    check(item)
                except (contracts.SchemaError, KeyError) as exc:
                    job.errors.append(f"{url}: invalid item: {exc}")
                    self._dead_letter(job, "crawler.validate", str(exc), repr(item), url)
                    continue
                job.item_issued()
                out.append(item)
        if page.next_url and depth + 1 < self._max_chain(job) and urls.is_allowed(page.next_url):
            job.request_issued()
            out.append(self._request(job, page.next_url, depth=depth + 1))

    def _max_chain(self, job: Job) -> int:
        return job.max_pages or self.shared.settings.max_pages_per_chain

    def on_error(self, failure):
        request = failure.request
        job = self._job(request.meta)
        if job is None:
            return
        url = request.meta.get(URL, request.url)
        response = getattr(failure.value, "response", None)
        status = f"http_{response.status}" if response is not None else "fetch_error"
        try:
            page_type = urls.page_type(url)
        except ValueError:
            page_type = "unknown"
        metrics.PAGES.labels(urls.source_of(url), page_type, status).inc()
        job.errors.append(f"{url}: {status}: {failure.getErrorMessage()[:500]}")
        job.request_settled()
        self._maybe_finish(job)

    def _dead_letter(self, job: Job, stage: str, error: str, payload, url: str) -> None:
        metrics.DEAD_LETTERS.labels(stage).inc()
        job.item_issued()
        try:
            future = self.shared.sink.dead_letter(stage, error, payload, url=url, key=job.target.key)
        except Exception as exc:
            job.item_settled(error=f"dead letter: {exc}")
            return
        deferred(future).addCallbacks(lambda _: self._settle_item(job, None),
                                      lambda f: self._settle_item(job, None, f"dead letter: {f.getErrorMessage()}"))

    def _settle_item(self, job: Job, item, error: str | None = None) -> None:
        job.item_settled(item, error)
        self._maybe_finish(job)

    # -- signals (reactor thread) -------------------------------------------------------------
    def _keep_open(self, spider) -> None:
        raise DontCloseSpider

    def _dropped(self, request, spider) -> None:
        if spider is not self:
            return
        job = self._job(request.meta)
        if job is None:
            return
        if request.meta.get(ROOT):
            job.duplicate = True  # crawled moments ago (shared dupefilter)
        job.request_settled()
        self._maybe_finish(job)

    def _item_scraped(self, item, response, spider) -> None:
        if spider is self and (job := self._job(response.meta)) is not None:
            self._settle_item(job, item)

    def _item_failed(self, item, response, spider, failure) -> None:
        if spider is self and (job := self._job(response.meta)) is not None:
            self._settle_item(job, None, f"{type(failure.value).__name__}: {failure.getErrorMessage()[:500]}")

    def _item_dropped(self, item, response, exception, spider) -> None:
        if spider is self and (job := self._job(response.meta)) is not None:
            self._settle_item(job, None, f"dropped: {exception}")

    # -- completion --------------------------------------------------------------------------
    def _maybe_finish(self, job: Job) -> None:
        if job.finished or not job.idle:
            return
        job.finished = True
        self.shared.jobs.pop(job.id, None)
        dupefilter = getattr(self.crawler.engine.scheduler, "df", None)
        if hasattr(dupefilter, "forget_job"):
            dupefilter.forget_job(job.id)  # a worker lives for days: per-crawl fingerprints must not pile up
        metrics.JOBS_IN_FLIGHT.dec()
        result = job.result()
        metrics.JOBS.labels(job.target.kind, result.outcome).inc()
        finish(self.shared, job, result)


def finish(shared, job: Job, result) -> None:
    """Record the outcome in the schedule tables; resolve the job's future once that is committed."""
    target = job.target
    book = shared.bookkeeper
    if result.outcome == "sink_error":
        job.future.set_result(result)  # nothing recorded: the caller retries or gives the message back
        return
    if target.kind in ("anime", "profile"):
        if result.outcome == "ok":
            book.crawled(target.kind, target.url)
        elif result.outcome == "duplicate":
            book.crawled(target.kind, target.url, count=False)
        else:
            book.failed(target.kind, target.url, "; ".join(result.errors) or result.outcome)

    def committed(error: Exception | None) -> None:
        if error is not None:
            job.future.set_exception(error)
            return
        if result.outcome == "ok" and target.kind != "seed":
            try:
                shared.recent.mark(target)
            except Exception:  # the filter only saves work; losing a mark costs a recrawl, nothing more
                log.warning("could not mark crawl as recent", exc_info=True)
        job.future.set_result(result)

    book.then(committed)


class AnimeSpider(JobSpider):
    name = "anime"


class ProfileSpider(JobSpider):
    name = "profile"


class SeedSpider(JobSpider):
    """Reads listing pages (top anime, recently online users) only for their links."""

    name = "seed"
    emits_items = False
