"""Settings of the API service, read once from ANIMEREC_API_* variables."""

from __future__ import annotations

import dataclasses

from animerec.common.config import setting

# Sources of a personal list for a user outside the published batch, and the lists anyone can get.
PERSONAL_SOURCES = ("fold_in", "recent_completed")
LIST_SOURCES = ("trending", "popular")


def _check_chain(chain: list[str]) -> None:
    unknown = [s for s in chain if s not in PERSONAL_SOURCES + LIST_SOURCES]
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(PERSONAL_SOURCES + LIST_SOURCES)}")
    if not any(s in LIST_SOURCES for s in chain):
        raise ValueError("the chain must end in a list everyone gets (trending or popular)")


def _check_ab(value: str | None) -> None:
    if value and (len(value) > 64 or any(c in value for c in ": \n")):
        raise ValueError("a version id: at most 64 characters, no ':' or spaces")


@dataclasses.dataclass(frozen=True)
class ApiSettings:
    env_prefix = "ANIMEREC_API_"

    host: str = setting("0.0.0.0", help="Address uvicorn binds to")
    port: int = setting(8080, minimum=1, maximum=65535, help="HTTP port of the API and the web page")
    workers: int = setting(1, minimum=1, maximum=64, help="uvicorn worker processes")
    access_log: bool = setting(False, help="Log every request (uvicorn access log)")
    default_n: int = setting(20, minimum=1, maximum=100, help="Recommendations returned when n is not given")
    max_n: int = setting(100, minimum=1, maximum=500, help="Largest n a request may ask for")
    sources: list[str] = setting(["fold_in", "recent_completed", "trending", "popular"], check=_check_chain,
                                 help="Fallback chain for users outside the published batch, first that answers "
                                      "wins (fold_in, recent_completed, trending, popular)")
    sample_per_franchise: int = setting(1, minimum=0, maximum=100,
                                        help="Most picks of one franchise in a sampled answer (sample=k), while the "
                                             "top n holds enough other franchises; 0: plain random sample")
    candidates: int = setting(300, minimum=1, maximum=1000,
                              help="Candidates read from a list before filters, hidden anime and n apply")
    fold_in_max_entries: int = setting(1000, minimum=1, maximum=10000,
                                       help="Most list entries (newest first) a fold-in reads")
    feedback_secret: str | None = setting(None, secret=True,
                                          help="Key (16+ characters) signing feedback tokens; empty: a random key per "
                                               "process (tokens then fail on other replicas and after a restart)")
    feedback_token_ttl_seconds: int = setting(86400, minimum=60, maximum=30 * 86400,
                                              help="How long a feedback token from an answer stays valid")
    feedback_memory: int = setting(500, minimum=1, maximum=10000,
                                   help="Likes and hidden anime kept per user (newest win)")
    feedback_memory_seconds: int = setting(180 * 86400, minimum=60, maximum=3650 * 86400,
                                           help="A user's likes and hidden anime expire this long after the last one")
    feedback_rate_per_client: int = setting(120, minimum=1, maximum=1_000_000,
                                            help="Feedback requests per minute from one client address")
    feedback_rate_per_user: int = setting(60, minimum=1, maximum=1_000_000,
                                          help="Feedback requests per minute naming one user")
    ab_version: str | None = setting(None, check=_check_ab,
                                     help="A/B test: a second published version (kept alive, e.g. published with a "
                                          "long grace) served to ab_share of users, split by a hash of their name")
    ab_share: float = setting(0.0, minimum=0.0, maximum=1.0, help="Share of users the A/B version serves")
    version_cache_seconds: float = setting(1.0, minimum=0, maximum=60,
                                           help="How long a worker re-uses the live version id before re-reading it")
    card_cache_size: int = setting(50000, minimum=0, maximum=10_000_000,
                                   help="Anime cards kept in process memory (per published version)")
    warm_timeout_seconds: float = setting(30.0, minimum=0.1, maximum=600,
                                          help="How long start-up may spend loading the live version's cards")
    redis_timeout_seconds: float = setting(0.5, minimum=0.01, maximum=30, help="Redis socket timeout")
    redis_retries: int = setting(3, minimum=0, maximum=10,
                                 help="Retries of a Redis command on a new connection after the old one dropped "
                                      "(10-100 ms jittered backoff)")
    redis_health_check_seconds: int = setting(5, minimum=0, maximum=3600,
                                              help="A pooled Redis connection idle this long is PINGed before use "
                                                   "(0: never); connection errors are retried either way")
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
