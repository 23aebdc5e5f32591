"""Scheduler metrics (animerec_scheduler_*)."""

from __future__ import annotations

from animerec.common import metrics

URLS_SCHEDULED = metrics.counter("scheduler", "urls_scheduled_total", "URLs published and marked scheduled", ("kind",))
PUBLISH_FAILURES = metrics.counter(
    "scheduler", "publish_failures_total", "URLs whose schedule message Kafka did not acknowledge", ("kind",))
RUN_SECONDS = metrics.histogram("scheduler", "run_duration_seconds", "Duration of one scheduler run", ("kind",))
BACKLOG = metrics.gauge(
    "scheduler", "backlog_urls", "URLs in the schedule table by state, after the last run", ("kind", "state"))
LAST_RUN = metrics.gauge("scheduler", "last_run_timestamp_seconds", "Unix time the last run finished", ("kind",))
