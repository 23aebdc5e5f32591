"""Crawler settings, from ANIMEREC_CRAWLER_* variables."""

from __future__ import annotations

from dataclasses import dataclass

from animerec.common.config import setting


@dataclass(frozen=True)
class CrawlerSettings:
    env_prefix = "ANIMEREC_CRAWLER_"

    # Where requests go. Only canonical MAL / Jikan URLs are accepted; these bases let tests and the
    # demo send them to the offline mirror instead (MAL paths at its root, Jikan under /v4).
    mal_base_url: str = setting("https://myanimelist.net", help="Base URL MAL requests are sent to")
    jikan_base_url: str = setting("https://api.jikan.moe/v4", help="Base URL Jikan v4 requests are sent to")
    source: str = setting("mal", choices=("mal", "jikan"), help="Default source when a request names none")

    # Politeness
    user_agent: str = setting("animerec-crawler/0.1 (+https://github.com/animerec/animerec)",
                              help="User-Agent header of every request")
    obey_robots: bool = setting(True, help="Obey robots.txt")
    concurrent_requests: int = setting(8, minimum=1, help="Requests in flight per process")
    concurrent_per_host: int = setting(2, minimum=1, help="Requests in flight per host (MAL, Jikan)")
    mal_delay_s: float = setting(2.0, minimum=0, help="Minimum delay between MAL requests (AutoThrottle floor)")
    autothrottle: bool = setting(True, help="Adapt delays to the server's latency (Scrapy AutoThrottle)")
    autothrottle_target: float = setting(1.0, minimum=0.1, help="AutoThrottle target concurrency per host")
    jikan_rate_per_s: float = setting(3, minimum=0, help="Jikan requests per second (documented limit 3; 0: off)")
    jikan_rate_per_min: float = setting(60, minimum=0, help="Jikan requests per minute (documented limit 60; 0: off)")
    mal_rate_per_min: float = setting(60, minimum=0, help="MyAnimeList requests per minute over all crawler processes "
                                                        "(a cap on top of the per-process delay; 0: off)")
    shared_rate_limits: bool = setting(True, help="Count the Jikan and MAL limits across all crawler processes in "
                                                  "Redis (limits are per client IP; replicas usually share one)")
    timeout_s: float = setting(30.0, minimum=1, help="Download timeout per request")
    retries: int = setting(4, minimum=0, help="Retries of a request on 429/5xx/network errors")
    backoff_base_s: float = setting(2.0, minimum=0, help="First retry delay; doubles on each retry")
    backoff_max_s: float = setting(120.0, minimum=0, help="Upper bound of a retry delay, Retry-After included")
    max_pages_per_chain: int = setting(20, minimum=1, help="Pages followed per paged sub-page (reviews, lists)")

    # Bookkeeping of the schedule tables
    bookkeeping: bool = setting(True, help="Record inspected / crawled / failed URLs in the schedule tables")
    bookkeeping_flush_s: float = setting(1.0, minimum=0.01, help="Longest wait before a bookkeeping batch is written")
    bookkeeping_batch: int = setting(500, minimum=1, help="Bookkeeping rows that trigger an early write")

    # Shared duplicate filter (Redis): a URL crawled this recently is not crawled again by a duplicate request.
    dupefilter_ttl_s: int = setting(3600, minimum=0, help="How long a crawled URL counts as fresh (0: no filter)")

    # Worker
    group: str = setting("animerec-crawler", help="Kafka consumer group of the workers")
    max_inflight: int = setting(8, minimum=1, help="Schedule messages crawled at once per worker")
    sink_retries: int = setting(3, minimum=0, help="Retries of a URL whose items could not be written")
    shutdown_grace_s: float = setting(30.0, minimum=0, help="On SIGTERM, wait this long for URLs in flight")
    dead_letter_max_bytes: int = setting(262144, minimum=1024, help="Page bytes kept in a dead letter")

    # HTTP service
    host: str = setting("0.0.0.0", help="Address `crawl serve` listens on")
    port: int = setting(8081, minimum=0, maximum=65535, help="Port of `crawl serve`")
    max_urls_per_request: int = setting(50, minimum=1, help="URLs accepted by one POST /crawl")
    wait_timeout_s: float = setting(120.0, minimum=1, help="Longest POST /crawl with wait=true waits")
    seed_max_pages: int = setting(20, minimum=1, help="Most listing pages one seed request reads")
