"""Prometheus metrics of the API (animerec_api_*), on a registry of their own per app instance."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from animerec.common import metrics

SUBSYSTEM = "api"
# Finer than the shared buckets at the low end: the route's target is single-digit milliseconds.
API_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


@dataclass
class ApiMetrics:
    registry: CollectorRegistry
    latency: Histogram
    requests: Counter
    cache: Counter
    fallbacks: Counter
    crawls: Counter
    feedback: Counter
    online: Counter
    feedback_checks: Counter
    redis_retries: Counter

    @classmethod
    def create(cls) -> ApiMetrics:
        reg = CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            latency=metrics.histogram(SUBSYSTEM, "request_duration_seconds", "Time to answer a request, by route",
                                      ("route", "method"), buckets=API_BUCKETS, registry=reg),
            requests=metrics.counter(SUBSYSTEM, "requests_total", "Requests answered, by route and status",
                                     ("route", "method", "status"), registry=reg),
            cache=metrics.counter(SUBSYSTEM, "cache_lookups_total",
                                  "Lookups by cache (cards: in-process card cache; user_recs: published lists; "
                                  "fresh_list: lists crawled on demand) and result (hit/miss)",
                                  ("cache", "result"), registry=reg),
            fallbacks=metrics.counter(SUBSYSTEM, "fallbacks_total",
                                      "Recommendation answers not from the user's published list, by kind",
                                      ("kind",), registry=reg),
            crawls=metrics.counter(SUBSYSTEM, "crawl_requests_total",
                                   "On-demand crawls of unknown users, by outcome", ("outcome",), registry=reg),
            feedback=metrics.counter(SUBSYSTEM, "feedback_events_total", "Feedback events produced, by action",
                                     ("action",), registry=reg),
            online=metrics.counter(SUBSYSTEM, "online_events_total",
                                   "Online evaluation: impressions (items served), clicks, likes and dislikes, by "
                                   "published version and source (feedback counts only with a valid token)",
                                   ("version", "source", "event"), registry=reg),
            feedback_checks=metrics.counter(SUBSYSTEM, "feedback_token_checks_total",
                                            "Feedback token checks, by result (ok, missing, forged, expired, "
                                            "other_user, replayed, malformed)", ("result",), registry=reg),
            redis_retries=metrics.counter(SUBSYSTEM, "redis_retries_total",
                                          "Redis commands (and connects) retried on a new connection after a "
                                          "connection error", (), registry=reg),
        )
