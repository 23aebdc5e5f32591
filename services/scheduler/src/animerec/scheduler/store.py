"""The schedule tables (anime_schedule, profile_schedule) and the schedule topics: their one owner.

Every writer goes through here: the scheduler (pick by policy, publish, mark scheduled), the crawler's
HTTP service (publish requested URLs, mark scheduled) and the crawler's bookkeeping (URLs inspected on
pages, crawls finished or failed). A URL is marked scheduled only after Kafka acknowledged its message,
so a crash between the two can duplicate a message but never loses a URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventProducer, topic_name
from animerec.common.timefmt import iso

KINDS = ("anime", "profile")
TABLES = {"anime": "anime_schedule", "profile": "profile_schedule"}
TOPICS = {"anime": "schedule_anime", "profile": "schedule_profile"}   # topic keys of schemas/topics.yaml
SCHEMA = "schedule_request"

_MARK_SCHEDULED = """
INSERT INTO {table} AS s (url, last_scheduled_date, scheduled_count)
SELECT u, %(now)s, 1 FROM unnest(%(urls)s::text[]) AS u
ON CONFLICT (url) DO UPDATE SET last_scheduled_date = EXCLUDED.last_scheduled_date,
                                scheduled_count = s.scheduled_count + 1
"""
_ADD = "INSERT INTO {table} (url) SELECT u FROM unnest(%(urls)s::text[]) AS u ON CONFLICT (url) DO NOTHING"
_LOCK = "SELECT url, scheduled_count FROM {table} WHERE url = ANY(%(urls)s) ORDER BY url FOR UPDATE"
_INSPECTED = """
INSERT INTO {table} AS s (url, inspected_count, last_inspected_date)
SELECT * FROM unnest(%(urls)s::text[], %(counts)s::int[], %(dates)s::timestamptz[])
ON CONFLICT (url) DO UPDATE SET
    inspected_count = s.inspected_count + EXCLUDED.inspected_count,
    last_inspected_date = GREATEST(s.last_inspected_date, EXCLUDED.last_inspected_date)
"""
_CRAWLED = """
INSERT INTO {table} AS s (url, last_crawled_date, crawled_count)
SELECT u, %(now)s, %(inc)s FROM unnest(%(urls)s::text[]) AS u
ON CONFLICT (url) DO UPDATE SET
    last_crawled_date = GREATEST(s.last_crawled_date, EXCLUDED.last_crawled_date),
    crawled_count = s.crawled_count + EXCLUDED.crawled_count,
    error_count = 0
"""
_FAILED = """
INSERT INTO {table} AS s (url, error_count, last_error, last_error_date)
SELECT u, 1, e, %(now)s FROM unnest(%(urls)s::text[], %(errors)s::text[]) AS t(u, e)
ON CONFLICT (url) DO UPDATE SET
    error_count = s.error_count + 1, last_error = EXCLUDED.last_error, last_error_date = EXCLUDED.last_error_date
"""
ERROR_MAX_CHARS = 2000


def table(kind: str) -> sql.Identifier:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return sql.Identifier(TABLES[kind])


def _query(template: str, kind: str) -> sql.Composed:
    return sql.SQL(template).format(table=table(kind))


def topic(core: CoreSettings, kind: str) -> str:
    """The full name of `kind`'s schedule topic."""
    return topic_name(core, TOPICS[kind])


def kinds_by_topic(core: CoreSettings) -> dict[str, str]:
    """Full schedule topic name -> kind, for the crawler's workers."""
    return {topic(core, kind): kind for kind in KINDS}


# -- schedule requests ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One URL to crawl; `attempt` counts this scheduling of the URL (1 the first time)."""

    kind: str
    url: str
    source: str
    attempt: int = 1


def message(request: Request, now: datetime) -> dict[str, Any]:
    """The schedule_request event of `request` (schemas/events/schedule_request.v1.json)."""
    return {"url": request.url, "kind": request.kind, "source": request.source, "scheduled_at": iso(now),
            "attempt": request.attempt}


@dataclass
class Outcome:
    scheduled: list[Request] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)    # url -> publish error


def publish(producer: EventProducer, core: CoreSettings, requests: Sequence[Request], now: datetime,
            timeout: float) -> Outcome:
    """Send every request keyed by URL to its kind's topic; wait for the acknowledgements."""
    outcome = Outcome()
    futures = []
    for request in requests:
        try:
            futures.append((request, producer.send(topic(core, request.kind), message(request, now), key=request.url,
                                                   schema=SCHEMA)))
        except Exception as exc:  # schema or buffer errors: this URL stays unscheduled
            outcome.failed[request.url] = f"{type(exc).__name__}: {exc}"
    producer.flush(timeout)
    for request, future in futures:
        try:
            future.get(timeout)
            outcome.scheduled.append(request)
        except Exception as exc:
            outcome.failed[request.url] = f"{type(exc).__name__}: {exc}"
    return outcome


def mark_scheduled(conn: psycopg.Connection, kind: str, urls: Sequence[str], now: datetime) -> int:
    """Record that `urls` were scheduled at `now` (rows are created for URLs the table does not know yet)."""
    if not urls:
        return 0
    return conn.execute(_query(_MARK_SCHEDULED, kind), {"urls": sorted(urls), "now": now}).rowcount


def schedule(conn: psycopg.Connection, producer: EventProducer, core: CoreSettings, requests: Sequence[Request],
             now: datetime, timeout: float) -> Outcome:
    """Publish, then mark the acknowledged URLs scheduled, in the caller's transaction (which should hold the
    rows' locks: `pick` of the policy, or `lock`)."""
    outcome = publish(producer, core, requests, now, timeout)
    for kind in KINDS:
        mark_scheduled(conn, kind, [r.url for r in outcome.scheduled if r.kind == kind], now)
    return outcome


def lock(conn: psycopg.Connection, kind: str, urls: Sequence[str]) -> dict[str, int]:
    """Create the rows of unknown `urls`, lock all of them for the caller's transaction and return
    url -> the attempt its next scheduling is."""
    if not urls:
        return {}
    keys = {"urls": sorted(set(urls))}   # one order, so concurrent callers do not deadlock
    conn.execute(_query(_ADD, kind), keys)
    return {url: count + 1 for url, count in conn.execute(_query(_LOCK, kind), keys).fetchall()}


# -- crawler bookkeeping -------------------------------------------------------------------------

def mark_inspected(conn: psycopg.Connection, kind: str, seen: Mapping[str, int], dates: Mapping[str, datetime]) -> None:
    """URLs seen on crawled pages: `seen[url]` more inspections, the latest at `dates[url]`."""
    if seen:
        keys = sorted(seen)
        conn.execute(_query(_INSPECTED, kind),
                     {"urls": keys, "counts": [seen[u] for u in keys], "dates": [dates[u] for u in keys]})


def mark_crawled(conn: psycopg.Connection, kind: str, urls: Iterable[str], now: datetime, *,
                 count: bool = True) -> None:
    """A crawl of each URL finished (consecutive errors reset); `count=False` refreshes the date only."""
    keys = sorted(urls)
    if keys:
        conn.execute(_query(_CRAWLED, kind), {"urls": keys, "now": now, "inc": 1 if count else 0})


def mark_failed(conn: psycopg.Connection, kind: str, errors: Mapping[str, str], now: datetime) -> None:
    """A crawl of each URL failed with `errors[url]` (one more consecutive error)."""
    if errors:
        keys = sorted(errors)
        conn.execute(_query(_FAILED, kind),
                     {"urls": keys, "errors": [errors[u][:ERROR_MAX_CHARS] for u in keys], "now": now})
