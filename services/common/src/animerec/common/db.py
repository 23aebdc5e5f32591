"""PostgreSQL helpers on psycopg 3: connections, a pool, transactions."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def connect(url: str, *, autocommit: bool = False, dict_rows: bool = False) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row if dict_rows else None)


def pool(url: str, *, min_size: int = 1, max_size: int = 8, name: str = "animerec") -> ConnectionPool:
    return ConnectionPool(url, min_size=min_size, max_size=max_size, name=name, open=True,
                          kwargs={"application_name": name})


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """One connection, one transaction: committed on success, rolled back on error."""
    with psycopg.connect(url) as conn, conn.transaction():
        yield conn


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


def database_name(url: str) -> str:
    return conninfo_to_dict(url).get("dbname") or "postgres"


def ensure_database(url: str) -> bool:
    """Create the URL's database if it is missing (connecting to `postgres`); True if created."""
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(with_database(url, "postgres"), connect_timeout=3):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL not reachable in {timeout}s: {exc}") from exc
            time.sleep(0.5)
