"""One scheduler run: pick URLs by policy, publish them, mark the acknowledged ones scheduled.

Everything happens in one transaction holding the row locks. A URL is marked scheduled only after
Kafka acknowledged its message, so a crash between publish and commit can duplicate a message (the
URL is picked again next run) but never loses a URL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventProducer

from . import metrics, policy, store
from .settings import SchedulerSettings

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    kind: str
    picked: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)   # url -> publish error
    backlog: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def run(core: CoreSettings, settings: SchedulerSettings, kind: str, *, limit: int | None = None,
        now: datetime | None = None, producer: EventProducer | None = None, dry_run: bool = False) -> RunResult:
    """Schedule up to `limit` URLs of `kind`; `now` defaults to the wall clock (tests pass their own)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    limit = limit or settings.limit
    result = RunResult(kind)
    own = EventProducer(core, f"scheduler-{kind}") if producer is None and not dry_run else None
    producer = producer or own
    try:
        with psycopg.connect(core.postgres_url) as conn:
            with conn.transaction():
                picked = policy.pick(conn, kind, settings, now, limit)
                result.picked = [c.url for c in picked]
                if picked and producer is not None and not dry_run:
                    requests = [store.Request(kind, c.url, settings.source, c.scheduled_count + 1) for c in picked]
                    outcome = store.schedule(conn, producer, core, requests, now, settings.publish_timeout_s)
                    result.scheduled = [r.url for r in outcome.scheduled]
                    result.failed = outcome.failed
            result.backlog = policy.backlog(conn, kind, settings, now)
    finally:
        if own is not None:
            own.close()
    result.seconds = time.perf_counter() - started
    _observe(result)
    log.info("scheduler run", extra={"kind": kind, "picked": len(result.picked), "scheduled": len(result.scheduled),
                                     "failed": len(result.failed), "dry_run": dry_run, "seconds": result.seconds,
                                     **{f"backlog_{k}": v for k, v in result.backlog.items()}})
    return result


def _observe(result: RunResult) -> None:
    metrics.URLS_SCHEDULED.labels(result.kind).inc(len(result.scheduled))
    metrics.PUBLISH_FAILURES.labels(result.kind).inc(len(result.failed))
    metrics.RUN_SECONDS.labels(result.kind).observe(result.seconds)
    for state, count in result.backlog.items():
        metrics.BACKLOG.labels(result.kind, state).set(count)
    metrics.LAST_RUN.labels(result.kind).set(time.time())
