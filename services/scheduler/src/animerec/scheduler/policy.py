"""The selection policy, as SQL with parameters only.

Order: never-scheduled URLs first; then the longest since last crawl; then the most recently
inspected; then the most inspected. Skipped: URLs in flight (scheduled within the failure window
and neither crawled nor failed since), URLs backing off after failures (the wait doubles with each
consecutive failure, up to a cap), URLs that failed `max_errors` times in a row, and optionally
URLs crawled more recently than a minimum age.

Rows are locked with FOR UPDATE SKIP LOCKED, so two schedulers running at once split the work
instead of both picking the same URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from .settings import SchedulerSettings
from .store import table

# A URL is settled once it was crawled or failed after it was last scheduled.
_IN_FLIGHT = """
    last_scheduled_date IS NOT NULL
    AND last_scheduled_date > %(now)s - %(failure_window)s
    AND (last_crawled_date IS NULL OR last_crawled_date < last_scheduled_date)
    AND (last_error_date IS NULL OR last_error_date < last_scheduled_date)
"""

_BACKING_OFF = """
    error_count > 0 AND last_error_date IS NOT NULL
    AND last_error_date + LEAST(%(error_backoff)s * power(2, error_count - 1), %(error_backoff_max)s) > %(now)s
"""

_TOO_FRESH = "last_crawled_date IS NOT NULL AND last_crawled_date > %(now)s - %(recrawl_min_age)s"

_SELECT = f"""
SELECT url, scheduled_count
FROM {{table}}
WHERE error_count < %(max_errors)s
  AND NOT ({_IN_FLIGHT})
  AND NOT ({_BACKING_OFF})
  AND NOT ({_TOO_FRESH})
ORDER BY (last_scheduled_date IS NULL) DESC,
         last_crawled_date ASC NULLS FIRST,
         last_inspected_date DESC NULLS LAST,
         inspected_count DESC,
         created_at, url
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

_BACKLOG = f"""
SELECT count(*) AS total,
       count(*) FILTER (WHERE last_scheduled_date IS NULL) AS never_scheduled,
       count(*) FILTER (WHERE {_IN_FLIGHT}) AS in_flight,
       count(*) FILTER (WHERE error_count < %(max_errors)s AND ({_BACKING_OFF})) AS backing_off,
       count(*) FILTER (WHERE error_count >= %(max_errors)s) AS given_up
FROM {{table}}
"""


@dataclass(frozen=True)
class Candidate:
    url: str
    scheduled_count: int


def params(settings: SchedulerSettings, now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "failure_window": settings.failure_window,
        "error_backoff": settings.error_backoff,
        "error_backoff_max": settings.error_backoff_max,
        "max_errors": settings.max_errors,
        # 0 disables the minimum age: no URL is crawled after `now`.
        "recrawl_min_age": settings.recrawl_min_age,
    }


def select_query(kind: str) -> sql.Composed:
    return sql.SQL(_SELECT).format(table=table(kind))


def backlog_query(kind: str) -> sql.Composed:
    return sql.SQL(_BACKLOG).format(table=table(kind))


def pick(conn: psycopg.Connection[Any], kind: str, settings: SchedulerSettings, now: datetime,
         limit: int) -> list[Candidate]:
    """Lock and return up to `limit` URLs by the policy; the caller's transaction holds the locks."""
    rows = conn.execute(select_query(kind), {**params(settings, now), "limit": limit}).fetchall()
    return [Candidate(url, count) for url, count in rows]


def backlog(conn: psycopg.Connection[Any], kind: str, settings: SchedulerSettings, now: datetime) -> dict[str, int]:
    cur = conn.execute(backlog_query(kind), params(settings, now))
    row = cur.fetchone()
    if row is None or cur.description is None:
        raise RuntimeError("the backlog query returned no row")
    return dict(zip([c.name for c in cur.description], row, strict=True))
