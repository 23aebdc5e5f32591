"""Land messages straight into the landing tables, without Kafka or Beam.

For tests and benchmarks of what comes after landing (the ETL): the same validation and row
building as the writer, with a made-up provenance (topic name, partition 0, running offsets).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import orjson
import psycopg

from . import sink
from .tables import landing_tables
from .validate import Landed, Record, check


def land_messages(conn: psycopg.Connection, messages: Iterable[dict], *, topic: str = "direct",
                  start_offset: int = 0) -> int:
    """Validate and land messages (items or feedback) in the caller's transaction; returns rows landed."""
    tables = landing_tables()
    allowed = {topic: tuple(tables)}
    rows: dict[str, list[tuple]] = defaultdict(list)
    for offset, message in enumerate(messages, start_offset):
        schema = message.get("item_type", "feedback")
        out = check(Record(topic, 0, offset, None, orjson.dumps(message), schema), allowed, tables)
        if not isinstance(out, Landed):
            raise ValueError(out.error)
        rows[schema].append(out.row)
    return sum(sink.write_rows(conn, tables[schema], batch) for schema, batch in rows.items())
