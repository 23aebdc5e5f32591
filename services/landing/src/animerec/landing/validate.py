"""Decode and check one Kafka record: a landing row for its table, or a reject with the reason."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from animerec.common import contracts

STAGE = "landing.validate"


@dataclass(frozen=True)
class Record:
    """What the bounded Kafka read hands to the pipeline (picklable, no client objects)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    schema_header: str | None = None


    def to_line(self) -> bytes:
        return json.dumps([self.topic, self.partition, self.offset, self.key, self.schema_header,
                           base64.b64encode(self.value).decode()], separators=(",", ":")).encode()

    @classmethod
    def from_line(cls, line: bytes) -> Record:
        topic, partition, offset, key, header, value = json.loads(line)
        return cls(topic, partition, offset, key, base64.b64decode(value), header)


@dataclass(frozen=True)
class Landed:
    schema: str
    row: tuple


@dataclass(frozen=True)
class Rejected:
    stage: str
    error: str
    record: Record

    def row(self) -> tuple:
        payload = self.record.value.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        return (self.stage, self.error[:4000], payload, self.record.key, self.record.topic,
                self.record.partition, self.record.offset)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


_VALIDATORS: dict[str, object] = {}


def _is_valid(schema: str, message: Any) -> bool:
    if schema not in _VALIDATORS:  # resolving the schemas folder per message would cost more than validating
        _VALIDATORS[schema] = contracts.validator(schema)
    return _VALIDATORS[schema].is_valid(message)


def check(record: Record, allowed: dict[str, tuple[str, ...]], tables: dict) -> Landed | Rejected:
    """`allowed`: topic -> schemas it may carry; `tables`: schema -> LandingTable."""
    try:
        message = json.loads(record.value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Rejected(STAGE, f"not JSON: {exc}", record)
    schemas = allowed.get(record.topic, ())
    try:
        if record.schema_header:
            schema = record.schema_header
        elif len(schemas) == 1:
            schema = schemas[0]
        else:
            schema = contracts.schema_for(message)
        if schema not in schemas:
            return Rejected(STAGE, f"schema {schema!r} does not belong on topic {record.topic}", record)
        # is_valid is several times cheaper than collecting errors; explain only what fails.
        if not _is_valid(schema, message):
            contracts.validate(schema, message)
    except contracts.SchemaError as exc:
        return Rejected(STAGE, str(exc), record)
    if isinstance(message, dict) and message.get("item_type", schema) != schema:
        return Rejected(STAGE, f"item_type {message.get('item_type')!r} contradicts schema header {schema!r}", record)
    if _has_nul(message):
        return Rejected(STAGE, f"{schema}: a string contains a NUL character, which PostgreSQL text cannot store",
                        record)
    return Landed(schema, tables[schema].row(message, record.topic, record.partition, record.offset))
