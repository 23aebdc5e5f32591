"""Idempotent bulk writes into the landing tables.

First try: COPY straight into the table, inside a savepoint. That is the raw COPY rate, and it is what
happens whenever the rows are new. When any row of the chunk is already there (a batch replayed after a crash
or a rebalance), the unique provenance key refuses the COPY and the chunk goes the idempotent way: COPY into a
temporary table, then INSERT .. SELECT .. ON CONFLICT DO NOTHING, so a replay adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from .tables import PROVENANCE, LandingTable

REJECT_COLUMNS = ("stage", "error", "payload", "message_key", *PROVENANCE, "payload_bytes", "payload_sha256",
                  "dead_letter_id", "dead_letter_state")


def _copy(cur: psycopg.Cursor, target: sql.Composable, cols: sql.Composable, rows: Iterable[tuple]) -> None:
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, cols)) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_insert(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[tuple],
                 conflict: str) -> int:
    tmp = sql.Identifier(f"_land_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    target = sql.Identifier("landing", table)
    with conn.cursor() as cur:
        try:
            with conn.transaction():  # a savepoint: a refused COPY leaves nothing behind
                _copy(cur, target, cols, rows)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            pass
        cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS "
                            "SELECT {} FROM {} WITH NO DATA").format(tmp, cols, target))
        _copy(cur, tmp, cols, rows)
        # ORDER BY keeps landing ids in offset order, which makes "latest crawl wins" ties stable.
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY kafka_partition, kafka_offset "
                            + conflict).format(target, cols, cols, tmp))
        inserted = cur.rowcount
        cur.execute(sql.SQL("TRUNCATE {}").format(tmp))
    return inserted


def write_rows(conn: psycopg.Connection, spec: LandingTable, rows: Sequence[tuple]) -> int:
    """Land rows of one table inside the caller's transaction; returns how many were new."""
    if not rows:
        return 0
    return _copy_insert(conn, spec.table, spec.columns, rows, spec.conflict)


def write_rejects(conn: psycopg.Connection, rows: Sequence[tuple]) -> int:
    """rows: REJECT_COLUMNS, as Rejected.row() builds them."""
    if not rows:
        return 0
    return _copy_insert(conn, "rejects", REJECT_COLUMNS, rows,
                        "ON CONFLICT ON CONSTRAINT rejects_provenance_key DO NOTHING")
