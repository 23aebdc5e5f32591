"""Where each event schema lands: table name and column list, derived from the schema files.

The landing tables hold exactly the schema's fields plus the Kafka provenance, so the column
list is the schema's properties (without `item_type`) followed by topic, partition and offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from animerec.common import contracts

PROVENANCE = ("kafka_topic", "kafka_partition", "kafka_offset")
FEEDBACK = "feedback"


@dataclass(frozen=True)
class LandingTable:
    schema: str                 # event schema name
    table: str                  # landing.<table>
    fields: tuple[str, ...]     # message fields, in column order
    json_fields: tuple[str, ...] = ()
    # The compiled schema, looked up once here rather than once per message.
    validator: contracts.Validator | None = field(default=None, compare=False, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.fields, *PROVENANCE)

    def row(self, message: dict[str, Any], topic: str, partition: int, offset: int) -> tuple:
        if not self.json_fields:  # every table but feedback: one C-level pass over the fields
            return (*map(message.get, self.fields), topic, partition, offset)
        values = []
        for name in self.fields:
            value = message.get(name)
            if name in self.json_fields:
                value = orjson.dumps(value if value is not None else {}).decode()
            values.append(value)
        return (*values, topic, partition, offset)

    @property
    def conflict(self) -> str:
        # Feedback is also unique on event_id (the API may resend an event): skip any duplicate.
        if self.schema == FEEDBACK:
            return "ON CONFLICT DO NOTHING"
        return f"ON CONFLICT ON CONSTRAINT {self.table}_provenance_key DO NOTHING"


def landing_tables() -> dict[str, LandingTable]:
    """Schema name -> its landing table, for every crawled item type and feedback."""
    schemas = contracts.event_schemas()
    out = {}
    for name in (*contracts.ITEM_TYPES, FEEDBACK):
        names = tuple(f for f in schemas[name]["properties"] if f != "item_type")
        out[name] = LandingTable(name, name, names, ("context",) if name == FEEDBACK else (),
                                 contracts.validator(name))
    return out


def check_columns(conn: psycopg.Connection, tables: Sequence[LandingTable]) -> None:
    """Fail fast, naming the difference, when a landing table drifted from its event schema."""
    for spec in tables:
        have = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'landing' AND table_name = %s",
            (spec.table,))}
        missing = [c for c in spec.columns if c not in have]
        if missing:
            raise RuntimeError(f"landing.{spec.table} lacks columns {missing} of schema {spec.schema}: "
                               "run `animerec migrate`")
