"""Settings of the API service, read once from ANIMEREC_API_* variables."""

from __future__ import annotations

import dataclasses

from animerec.common.config import setting


@dataclasses.dataclass(frozen=True)
class ApiSettings:
    env_prefix = "ANIMEREC_API_"

    host: str = setting("0.0.0.0", help="Address uvicorn binds to")
    port: int = setting(8080, minimum=1, maximum=65535, help="HTTP port of the API and the web page")
    workers: int = setting(1, minimum=1, maximum=64, help="uvicorn worker processes")
    access_log: bool = setting(False, help="Log every request (uvicorn access log)")
    default_n: int = setting(20, minimum=1, maximum=100, help="Recommendations returned when n is not given")
    max_n: int = setting(100, minimum=1, maximum=500, help="Largest n a request may ask for")
    fallback: str = setting("popular", choices=("popular", "trending"),
                            help="List served to users without recommendations")
    version_cache_seconds: float = setting(1.0, minimum=0, maximum=60,
                                           help="How long a worker re-uses the live version id before re-reading it")
    card_cache_size: int = setting(50000, minimum=0, maximum=10_000_000,
                                   help="Anime cards kept in process memory (per published version)")
    warm_timeout_seconds: float = setting(30.0, minimum=0.1, maximum=600,
                                          help="How long start-up may spend loading the live version's cards")
    redis_timeout_seconds: float = setting(0.5, minimum=0.01, maximum=30, help="Redis socket timeout")
    retry_after_seconds: int = setting(5, minimum=1, maximum=3600,
                                       help="Retry-After of 503 answers when Redis or Kafka is down")
    crawler_url: str | None = setting(None, help="Base URL of the crawler service (POST /crawl); empty: no "
                                                 "on-demand crawls of unknown users")
    crawl_timeout_seconds: float = setting(120.0, minimum=1, maximum=3600,
                                           help="How long one on-demand crawl may take")
    crawl_rate_per_minute: int = setting(30, minimum=1, maximum=100000,
                                         help="On-demand crawls started per minute, over all API replicas")
    crawl_dedupe_seconds: int = setting(900, minimum=1, maximum=86400,
                                        help="A user's profile is crawled on demand at most once in this window")
    crawl_retry_seconds: int = setting(120, minimum=1, maximum=86400,
                                       help="Wait before a failed on-demand crawl may be requested again")
    crawl_concurrency: int = setting(2, minimum=1, maximum=64, help="On-demand crawls in flight per worker")
    fresh_list_ttl_seconds: int = setting(14 * 86400, minimum=60, maximum=365 * 86400,
                                          help="How long an on-demand crawled list is kept in Redis")
    recent_completed: int = setting(10, minimum=1, maximum=200,
                                    help="Recently completed anime whose similar lists make cold-start recs")
    feedback_timeout_seconds: float = setting(5.0, minimum=0.1, maximum=60,
                                              help="How long POST /v1/feedback waits for the broker's ack")
    image_hosts: str = setting("https://cdn.myanimelist.net",
                               help="Image origins the web page may load covers from (Content-Security-Policy)")
