"""Scheduler settings, from ANIMEREC_SCHEDULER_* variables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from animerec.common.config import setting

SOURCES = ("mal", "jikan")


@dataclass(frozen=True)
class SchedulerSettings:
    env_prefix = "ANIMEREC_SCHEDULER_"

    limit: int = setting(500, minimum=1, maximum=1_000_000, help="URLs scheduled per run (--limit overrides)")
    source: str = setting("mal", choices=SOURCES, help="Source the crawler should use for scheduled URLs")
    failure_window_hours: float = setting(
        168.0, minimum=0, help="A URL scheduled this recently and neither crawled nor failed since is in flight")
    max_errors: int = setting(5, minimum=1, help="Consecutive failures after which a URL is no longer scheduled")
    error_backoff_minutes: float = setting(
        60.0, minimum=0, help="Wait after the first failure; doubles with each further consecutive failure")
    error_backoff_max_hours: float = setting(168.0, minimum=0, help="Upper bound of the failure back-off")
    recrawl_min_age_hours: float = setting(
        0.0, minimum=0, help="Never reschedule a URL crawled more recently than this (0: no minimum)")
    publish_timeout_s: float = setting(60.0, minimum=1, help="How long to wait for Kafka to acknowledge a batch")
    pushgateway: str = setting("", help="Prometheus Pushgateway host:port to push run metrics to (empty: off)")

    @property
    def failure_window(self) -> timedelta:
        return timedelta(hours=self.failure_window_hours)

    @property
    def error_backoff(self) -> timedelta:
        return timedelta(minutes=self.error_backoff_minutes)

    @property
    def error_backoff_max(self) -> timedelta:
        return timedelta(hours=self.error_backoff_max_hours)

    @property
    def recrawl_min_age(self) -> timedelta:
        return timedelta(hours=self.recrawl_min_age_hours)
