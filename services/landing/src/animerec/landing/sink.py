"""Idempotent bulk writes into the landing tables: COPY into a temporary table, then
INSERT .. SELECT .. ON CONFLICT DO NOTHING on the provenance key, so a replayed batch adds nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from .tables import PROVENANCE, LandingTable

REJECT_COLUMNS = ("stage", "error", "payload", "message_key", *PROVENANCE)


def _copy_insert(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                 conflict: str) -> int:
    tmp = sql.Identifier(f"_land_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    target = sql.Identifier("landing", table)
    conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS "
                         "SELECT {} FROM {} WITH NO DATA").format(tmp, cols, target))
    with conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(tmp, cols)) as copy:
            for row in rows:
                copy.write_row(row)
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
    """rows: (stage, error, payload, key, topic, partition, offset)."""
    if not rows:
        return 0
    return _copy_insert(conn, "rejects", REJECT_COLUMNS, rows,
                        "ON CONFLICT ON CONSTRAINT rejects_provenance_key DO NOTHING")
