"""The selection policy on explicit timelines: each ordering and each skip rule on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from animerec.common import config
from animerec.scheduler import policy
from animerec.scheduler.settings import SchedulerSettings

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
A = "anime_schedule"


def u(n: int) -> str:
    return f"https://myanimelist.net/anime/{n}"


def picked(url_db, kind="anime", limit=100, now=T0, **overrides):
    settings = config.load(SchedulerSettings, {}, **overrides)
    with psycopg.connect(url_db) as conn, conn.transaction():
        return [c.url for c in policy.pick(conn, kind, settings, now, limit)]


def test_never_scheduled_come_first(sched_db):
    sched_db.add(A, u(1), last_scheduled_date=T0 - 30 * D, last_crawled_date=T0 - 29 * D, inspected_count=99,
        last_inspected_date=T0 - H)
    sched_db.add(A, u(2), created_at=T0 - 2 * D)
    sched_db.add(A, u(3), created_at=T0 - 3 * D)
    assert picked(sched_db.url) == [u(3), u(2), u(1)]  # never scheduled (oldest discovered first), then the rest


def test_longest_since_last_crawl_first_and_never_crawled_before_crawled(sched_db):
    sched_db.add(A, u(1), last_scheduled_date=T0 - 20 * D, last_crawled_date=T0 - 10 * D)
    sched_db.add(A, u(2), last_scheduled_date=T0 - 20 * D, last_crawled_date=T0 - 19 * D)
    sched_db.add(A, u(3), last_scheduled_date=T0 - 20 * D, last_crawled_date=T0 - 2 * D)
    # scheduled 20 days ago, never crawled: the window expired, so it is due again, before everything crawled
    sched_db.add(A, u(4), last_scheduled_date=T0 - 20 * D)
    assert picked(sched_db.url) == [u(4), u(2), u(1), u(3)]


def test_same_crawl_age_most_recently_inspected_then_most_inspected(sched_db):
    crawled = {"last_scheduled_date": T0 - 9 * D, "last_crawled_date": T0 - 8 * D}
    sched_db.add(A, u(1), **crawled, last_inspected_date=T0 - 5 * D, inspected_count=50)
    sched_db.add(A, u(2), **crawled, last_inspected_date=T0 - 1 * H, inspected_count=1)
    sched_db.add(A, u(3), **crawled, last_inspected_date=T0 - 5 * D, inspected_count=7)
    sched_db.add(A, u(4), **crawled)  # never inspected: last
    assert picked(sched_db.url) == [u(2), u(1), u(3), u(4)]


def test_in_flight_within_failure_window_is_skipped(sched_db):
    # scheduled 1 day ago, not crawled since: in flight
    sched_db.add(A, u(1), last_scheduled_date=T0 - D)
    # scheduled 1 day ago, last crawl before that scheduling: still in flight
    sched_db.add(A, u(2), last_scheduled_date=T0 - D, last_crawled_date=T0 - 3 * D)
    # scheduled 1 day ago and crawled since: settled, eligible
    sched_db.add(A, u(3), last_scheduled_date=T0 - D, last_crawled_date=T0 - 20 * H)
    # scheduled 8 days ago, never crawled: the 7-day window passed, treated as lost and rescheduled
    sched_db.add(A, u(4), last_scheduled_date=T0 - 8 * D)
    assert picked(sched_db.url) == [u(4), u(3)]
    # a shorter window makes the 1-day-old schedules due again
    assert picked(sched_db.url, failure_window_hours=12) == [u(1), u(4), u(2), u(3)]


def test_failed_after_scheduling_is_settled_and_backs_off(sched_db):
    # failed once, 30 min ago (after its scheduling): back-off is 60 min
    sched_db.add(A, u(1), last_scheduled_date=T0 - 2 * H, error_count=1, last_error_date=T0 - 30 * timedelta(minutes=1))
    # failed once, 90 min ago: back-off over
    sched_db.add(A, u(2), last_scheduled_date=T0 - 3 * H, error_count=1, last_error_date=T0 - 90 * timedelta(minutes=1))
    # failed 3 times in a row, last 3 h ago: back-off is 60 min * 2^2 = 4 h
    sched_db.add(A, u(3), last_scheduled_date=T0 - 4 * H, error_count=3, last_error_date=T0 - 3 * H)
    # failed 3 times, last 5 h ago: due
    sched_db.add(A, u(4), last_scheduled_date=T0 - 6 * H, error_count=3, last_error_date=T0 - 5 * H)
    assert sorted(picked(sched_db.url)) == [u(2), u(4)]
    # the cap bounds the doubling: with a 2 h cap the 3-failure URL is due after 2 h
    assert sorted(picked(sched_db.url, error_backoff_max_hours=2)) == [u(2), u(3), u(4)]


def test_stops_after_max_consecutive_errors(sched_db):
    long_ago = {"last_scheduled_date": T0 - 30 * D, "last_error_date": T0 - 29 * D}
    sched_db.add(A, u(1), **long_ago, error_count=4)
    sched_db.add(A, u(2), **long_ago, error_count=5)
    sched_db.add(A, u(3), error_count=9)  # never scheduled but failed (crawled on demand): given up too
    assert picked(sched_db.url) == [u(1)]
    assert sorted(picked(sched_db.url, max_errors=10)) == [u(1), u(2), u(3)]


def test_recrawl_min_age(sched_db):
    sched_db.add(A, u(1), last_scheduled_date=T0 - 3 * D, last_crawled_date=T0 - 2 * H)
    sched_db.add(A, u(2), last_scheduled_date=T0 - 3 * D, last_crawled_date=T0 - 2 * D)
    assert picked(sched_db.url) == [u(2), u(1)]
    assert picked(sched_db.url, recrawl_min_age_hours=24) == [u(2)]


def test_limit_and_kind_tables_are_separate(sched_db):
    for n in range(1, 6):
        sched_db.add(A, u(n), created_at=T0 - n * H)
    sched_db.add("profile_schedule", "https://myanimelist.net/profile/Alice")
    assert picked(sched_db.url, limit=2) == [u(5), u(4)]
    assert picked(sched_db.url, kind="profile") == ["https://myanimelist.net/profile/Alice"]


def test_backlog_counts_each_state(sched_db):
    sched_db.add(A, u(1))
    sched_db.add(A, u(2), last_scheduled_date=T0 - H)
    sched_db.add(A, u(3), last_scheduled_date=T0 - 2 * H, error_count=1, last_error_date=T0 - H / 2)
    sched_db.add(A, u(4), last_scheduled_date=T0 - 20 * D, error_count=5, last_error_date=T0 - 19 * D)
    settings = config.load(SchedulerSettings, {})
    with psycopg.connect(sched_db.url) as conn:
        got = policy.backlog(conn, "anime", settings, T0)
    assert got == {"total": 4, "never_scheduled": 1, "in_flight": 1, "backing_off": 1, "given_up": 1}
