"""What every crawler of one process shares: sink, bookkeeping, the shared dupefilter, rate limiters
and the jobs in flight. Spiders carry it (`spider.shared`); middlewares and the item sink reach it there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ratelimit
from .bookkeeping import Bookkeeper
from .dupefilter import RecentCrawls
from .jobs import Job
from .settings import CrawlerSettings
from .sinks import Sink
from .targets import origin

JIKAN_HOST = "api.jikan.moe"
MAL_HOST = "myanimelist.net"


@dataclass
class Shared:
    settings: CrawlerSettings
    sink: Sink
    bookkeeper: Bookkeeper
    recent: RecentCrawls
    limiters: dict[str, ratelimit.RateLimiter] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)

    limit_server: Any = None  # a Redis client: rate limits shared by every crawler process (None: this one only)
    limit_prefix: str = "animerec:"

    def __post_init__(self) -> None:
        if not self.limiters:
            s = self.settings
            self.limiters = {JIKAN_HOST: self._limiter(JIKAN_HOST, ratelimit.jikan_windows(s.jikan_rate_per_s,
                                                                                            s.jikan_rate_per_min)),
                             MAL_HOST: self._limiter(MAL_HOST, [(s.mal_rate_per_min, 60.0)])}

    def _limiter(self, host: str, windows: list[tuple[float, float]]):
        local = ratelimit.RateLimiter(windows)
        if self.limit_server is None:
            return local
        return ratelimit.SharedRateLimiter(self.limit_server, f"{self.limit_prefix}crawler:ratelimit:{host}", local)

    def fetch_hosts(self) -> set[tuple[str, str, int]]:
        """(scheme, host, port) requests may actually go to: the configured MAL and Jikan bases."""
        return {origin(self.settings.mal_base_url), origin(self.settings.jikan_base_url)}
