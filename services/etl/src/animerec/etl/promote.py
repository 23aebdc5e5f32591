"""Staging -> processed in one transaction.

DELETE + INSERT (not TRUNCATE, not a table swap): both of those are not MVCC-safe, so a reader whose
snapshot predates the commit could see an empty table. With DELETE + INSERT every reader sees either
the whole previous state or the whole new one.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

TABLES = ("anime", "user", "user_anime", "anime_anime", "user_user")


def columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position", (schema, table))]


def promote(conn: psycopg.Connection, *, after_table: Callable[[str], None] | None = None) -> dict[str, int]:
    """Replace processed.* with staging.* inside the caller's transaction; returns rows per table."""
    counts = {}
    for table in TABLES:
        cols = sql.SQL(", ").join(map(sql.Identifier, columns(conn, "processed", table)))
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier("processed", table)))
        cur = conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier("processed", table), cols, cols, sql.Identifier("staging", table)))
        counts[table] = cur.rowcount
        if after_table:
            after_table(table)
    return counts
