"""The schedule tables' one API: requests and their messages, publish-then-mark, locking unknown URLs, and
the crawler's bookkeeping writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from animerec.common import config, contracts
from animerec.scheduler import store

A = "anime_schedule"
P = "profile_schedule"
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def u(n: int) -> str:
    return f"https://myanimelist.net/anime/{n}"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        store.table("manga")


def test_one_topic_per_kind():
    core = config.core({}, topic_prefix="x.")
    assert store.kinds_by_topic(core) == {"x.schedule.anime": "anime", "x.schedule.profile": "profile"}
    assert store.topic(core, "profile") == "x.schedule.profile"


def test_message_is_a_valid_schedule_request():
    request = store.Request("profile", "https://myanimelist.net/profile/Xinil", "jikan", attempt=3)
    msg = store.message(request, T0)
    assert msg == {"url": request.url, "kind": "profile", "source": "jikan", "scheduled_at": "2026-01-10T12:00:00.000Z",
                   "attempt": 3}
    contracts.validate(store.SCHEMA, msg)


@pytest.mark.integration
def test_lock_adds_unknown_urls_and_returns_next_attempts(sched_db):
    sched_db.add(A, u(1), scheduled_count=4)
    with psycopg.connect(sched_db.url) as conn:
        assert store.lock(conn, "anime", [u(2), u(1), u(2)]) == {u(1): 5, u(2): 1}
        store.mark_scheduled(conn, "anime", [u(1), u(2)], sched_db.T0)
    assert sched_db.row(A, u(1))["scheduled_count"] == 5
    assert sched_db.row(A, u(2))["scheduled_count"] == 1
    assert sched_db.row(A, u(2))["last_scheduled_date"] == sched_db.T0


@pytest.mark.integration
def test_bookkeeping_writes(sched_db):
    t0 = sched_db.T0
    profile = "https://myanimelist.net/profile/Xinil"
    with psycopg.connect(sched_db.url) as conn:
        store.mark_inspected(conn, "anime", {u(1): 2}, {u(1): t0})
        store.mark_inspected(conn, "anime", {u(1): 1}, {u(1): t0 - timedelta(hours=1)})
        store.mark_failed(conn, "profile", {profile: "x" * 5000}, t0)
        store.mark_failed(conn, "profile", {profile: "HTTP 500"}, t0 + timedelta(minutes=1))
        store.mark_crawled(conn, "anime", [u(1)], t0)
        store.mark_crawled(conn, "anime", [u(1)], t0 - timedelta(days=1), count=False)
    row = sched_db.row(A, u(1))
    assert (row["inspected_count"], row["last_inspected_date"]) == (3, t0)   # the latest date wins
    assert (row["crawled_count"], row["last_crawled_date"]) == (1, t0)       # an older refresh changes nothing
    row = sched_db.row(P, profile)
    assert (row["error_count"], row["last_error"]) == (2, "HTTP 500")
    with psycopg.connect(sched_db.url) as conn:
        store.mark_failed(conn, "profile", {profile: "y" * 5000}, t0)
        store.mark_crawled(conn, "profile", [profile], t0)
    row = sched_db.row(P, profile)
    assert row["error_count"] == 0 and len(row["last_error"]) == store.ERROR_MAX_CHARS
