"""A shared (Redis) duplicate filter with a time-to-live, on scrapy-redis.

scrapy-redis remembers every fingerprint forever in one set, which would make recrawls impossible
and, worse, lose URLs: a worker killed mid-crawl would leave its URL "seen" for the replica that
gets the redelivered message. Here an anime or profile counts as seen only once its crawl FINISHED
(items in the sink), and only for `ttl` seconds: duplicate schedule messages and replicas skip a
URL crawled moments ago, an interrupted crawl is always redone, and the scheduler can recrawl later.

Requests inside one crawl (sub-pages, next pages) are de-duplicated per crawl, in memory.
"""

from __future__ import annotations

import hashlib

import redis
from scrapy_redis.dupefilter import RFPDupeFilter

from .targets import Target

ROOT = "animerec_root"   # request meta: the first request of a crawl (checked against the shared filter)
JOB = "animerec_job"     # request meta: the job id a request belongs to


class RecentCrawls:
    """Finished crawls, one Redis key each with a TTL."""

    def __init__(self, server: redis.Redis | None, prefix: str, ttl: int) -> None:
        self.server = server if ttl > 0 else None
        self.prefix = prefix
        self.ttl = ttl

    @classmethod
    def from_url(cls, url: str | None, prefix: str, ttl: int) -> RecentCrawls:
        return cls(redis.Redis.from_url(url) if url and ttl > 0 else None, prefix, ttl)

    def key(self, target: Target) -> str:
        digest = hashlib.sha256(f"{target.kind} {target.source} {target.url}".encode()).hexdigest()
        return f"{self.prefix}crawler:done:{digest}"

    def seen(self, target: Target) -> bool:
        return bool(self.server is not None and self.server.exists(self.key(target)))

    def mark(self, target: Target) -> None:
        if self.server is not None:
            self.server.set(self.key(target), "1", ex=self.ttl)


class RecentCrawlsDupeFilter(RFPDupeFilter):
    """DUPEFILTER_CLASS: the first request of a crawl checks RecentCrawls; others dedupe within their crawl."""

    def __init__(self, server, key, debug=False, recent: RecentCrawls | None = None, jobs=None) -> None:
        super().__init__(server, key, debug)
        self.recent = recent
        self.jobs = jobs if jobs is not None else {}
        self._per_job: dict[int, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        shared = crawler.spider.shared
        return cls(shared.recent.server, key="animerec:crawler:dupefilter",
                   debug=crawler.settings.getbool("DUPEFILTER_DEBUG"), recent=shared.recent, jobs=shared.jobs)

    def request_seen(self, request) -> bool:
        job_id = request.meta.get(JOB)
        if request.meta.get(ROOT) and self.recent is not None:
            job = self.jobs.get(job_id)
            if job is not None and self.recent.seen(job.target):
                return True
        fingerprint = self.request_fingerprint(request)
        seen = self._per_job.setdefault(job_id, set())
        if fingerprint in seen:
            return True
        seen.add(fingerprint)
        return False

    def forget_job(self, job_id: int) -> None:
        self._per_job.pop(job_id, None)

    def close(self, reason: str = "") -> None:
        # Nothing shared to delete: the finished-crawl keys expire on their own.
        self._per_job.clear()
