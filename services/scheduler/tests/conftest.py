"""A PostgreSQL database of the scheduler tests' own (the session database is shared with other services),
emptied before each test, and helpers to write explicit schedule timelines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from animerec.devkit.fixtures import migrated_database

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sched_db_url() -> Iterator[str]:
    with migrated_database("sched") as url:
        yield url


class Timeline:
    """Writes schedule rows with explicit dates and counters, and reads them back."""

    T0 = T0

    def __init__(self, url: str) -> None:
        self.url = url

    def add(self, table: str, url: str, **cols) -> None:
        cols = {"url": url, **cols}
        names = ", ".join(cols)
        marks = ", ".join(["%s"] * len(cols))
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(cols.values()))

    def row(self, table: str, url: str) -> dict | None:
        with psycopg.connect(self.url, row_factory=psycopg.rows.dict_row) as conn:
            return conn.execute(f"SELECT * FROM {table} WHERE url = %s", (url,)).fetchone()


@pytest.fixture()
def sched_db(sched_db_url: str) -> Timeline:
    with psycopg.connect(sched_db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE anime_schedule, profile_schedule")
    return Timeline(sched_db_url)
