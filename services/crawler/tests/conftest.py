"""Fixtures of the crawler tests: a PostgreSQL database of their own (the session database is shared with
other services and these tests fill the schedule tables), emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from animerec.devkit.fixtures import migrated_database


@pytest.fixture(scope="session")
def crawl_db_url() -> Iterator[str]:
    with migrated_database("crawl") as url:
        yield url


@pytest.fixture()
def crawl_db(crawl_db_url: str) -> str:
    with psycopg.connect(crawl_db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE anime_schedule, profile_schedule")
    return crawl_db_url


def schedule_rows(url: str, table: str) -> dict[str, dict]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return {r["url"]: r for r in conn.execute(f"SELECT * FROM {table}").fetchall()}


@pytest.fixture()
def schedule():
    """schedule(db_url, "anime"|"profile") -> {url: row} of that schedule table."""
    return lambda url, kind: schedule_rows(url, f"{kind}_schedule")



@pytest.fixture()
def procs(tmp_path):
    """procs(args, env) starts an `animerec ...` process; all are stopped after the test."""
    from animerec.devkit.processes import Proc
    started: list[Proc] = []

    def start(args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(args, env, tmp_path / f"proc{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop(10)
