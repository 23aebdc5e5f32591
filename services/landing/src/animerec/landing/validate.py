"""Decode and check one Kafka record: a landing row for its table, or a reject with the reason.

Whatever the bytes, `check` returns; it never raises. Strict JSON (orjson: no NaN or Infinity, no lone
surrogates, no byte-order mark, valid UTF-8, nesting bounded) plus the checks PostgreSQL needs (no NUL in
text) and one JSON leaves open (duplicate keys, where decoders silently keep the last).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from animerec.common import contracts
from animerec.common.kafka import DEAD_LETTER_MAX_BYTES, DeadLetter, build_dead_letter

STAGE = "landing.validate"
MAX_MESSAGE_BYTES = 1_048_576
MAX_DEPTH = 32      # the deepest event schema nests 3 levels; anything far deeper is not an event


@dataclass(slots=True)
class Record:
    """What the bounded Kafka read hands on (picklable, no client objects)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    schema_header: str | None = None


@dataclass(slots=True)
class Landed:
    schema: str
    row: tuple
    record: Record


@dataclass(slots=True)
class Rejected:
    stage: str
    error: str
    record: Record

    def dead_letter(self, max_bytes: int = DEAD_LETTER_MAX_BYTES) -> DeadLetter:
        r = self.record
        return build_dead_letter(self.stage, self.error, r.value, topic=r.topic, partition=r.partition,
                                 offset=r.offset, key=r.key, max_bytes=max_bytes)

    def row(self, max_bytes: int = DEAD_LETTER_MAX_BYTES, state: str = "none") -> tuple:
        """A landing.rejects row: the dead letter's fields, with NUL (which PostgreSQL text refuses) replaced."""
        letter = self.dead_letter(max_bytes)
        m = letter.message
        return (m["stage"], _pg_text(m["error"]), _pg_text(m["payload"]),
                _pg_text(m["key"]) if m["key"] is not None else None, m["source_topic"], m["source_partition"],
                m["source_offset"], m["payload_bytes"], m["payload_sha256"], letter.id, state)


def _pg_text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def _scan(value: Any) -> tuple[int, bool, bool, int]:
    """(strings incl. keys, a string holds a quote, a string holds NUL, depth), without recursion."""
    strings, quote, nul, depth = 0, False, False, 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > depth:
            depth = level
            if depth > MAX_DEPTH:
                break
        children: Iterable[Any]
        if type(node) is dict:
            for k in node:  # keys are strings too
                strings += 1
                if '"' in k:
                    quote = True
                if "\x00" in k:
                    nul = True
            children = node.values()
        elif type(node) is list:
            children = node
        else:
            if type(node) is str:
                strings += 1
                quote = quote or '"' in node
                nul = nul or "\x00" in node
            continue
        for v in children:
            t = type(v)
            if t is str:
                strings += 1
                if '"' in v:
                    quote = True
                if "\x00" in v:
                    nul = True
            elif t is dict or t is list:
                stack.append((v, level + 1))
    return strings, quote, nul, depth


def _plain(raw: bytes) -> bool:
    """True when the text alone rules out what `_scan` looks for: a decoded string holds a quote only where the text
    escapes one, NUL only where it escapes one, and every level of nesting costs an opening bracket."""
    return (raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
            and (b"\\" not in raw or (b'\\"' not in raw and b"\\u0022" not in raw and b"\\u0000" not in raw)))


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _Duplicate(f"duplicate key {dup!r}")
    return out


def _duplicate_key(raw: bytes, strings: int, quote: bool) -> str | None:
    """The reason when an object repeats a key, else None.

    Every string of valid JSON, key or value, puts exactly two unescaped quotes in the text, and a quote inside
    a string is always escaped. So when no decoded string holds a quote, the text has 2 x (strings decoded)
    quotes unless the decoder dropped a repeated key. Otherwise, the exact (slower) check.
    """
    if not quote and raw.count(b'"') == 2 * strings:
        return None
    try:
        json.loads(raw, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        return str(exc)
    if not quote:  # cannot happen for valid JSON: the counts differ only when a key was dropped
        return "duplicate key"
    return None


def check(record: Record, allowed: dict[str, tuple[str, ...]], tables: dict,
          max_message_bytes: int = MAX_MESSAGE_BYTES) -> Landed | Rejected:
    """`allowed`: topic -> schemas it may carry; `tables`: schema -> LandingTable. Never raises."""
    try:
        return _check(record, allowed, tables, max_message_bytes)
    except Exception as exc:  # the writer must never stop on content, whatever slipped past the checks
        return Rejected(STAGE, f"cannot land: {type(exc).__name__}: {exc}", record)


def _check(record: Record, allowed: dict[str, tuple[str, ...]], tables: dict,
           max_message_bytes: int) -> Landed | Rejected:
    raw = record.value
    if len(raw) > max_message_bytes:
        return Rejected(STAGE, f"message of {len(raw)} bytes exceeds the landing limit of {max_message_bytes}",
                        record)
    if not raw:
        return Rejected(STAGE, "empty message", record)
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(STAGE, f"not JSON: {exc}", record)
    if _plain(raw):
        # No string can hold a quote or NUL and no nesting can pass the limit: only the string count is needed,
        # and orjson's own text of the decoded value has two quotes per string (keys included).
        quotes = orjson.dumps(message).count(b'"')
        nul, duplicate = False, None if raw.count(b'"') == quotes else _duplicate_key(raw, quotes // 2, False)
    else:
        strings, quote, nul, depth = _scan(message)
        if depth > MAX_DEPTH:
            return Rejected(STAGE, f"nested deeper than {MAX_DEPTH} levels", record)
        duplicate = _duplicate_key(raw, strings, quote)
    if duplicate:
        return Rejected(STAGE, f"ambiguous JSON: {duplicate}", record)
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
        spec = tables.get(schema)
        if spec is not None and spec.validator is not None:
            error = spec.validator.error(message)
            if error is not None:
                raise contracts.SchemaError(schema, error)
        else:
            contracts.validate(schema, message)
    except contracts.SchemaError as exc:
        return Rejected(STAGE, str(exc), record)
    if message.get("item_type", schema) != schema:
        return Rejected(STAGE, f"item_type {message.get('item_type')!r} contradicts schema header {schema!r}", record)
    if nul:
        return Rejected(STAGE, f"{schema}: a string contains a NUL character, which PostgreSQL text cannot store",
                        record)
    return Landed(schema, tables[schema].row(message, record.topic, record.partition, record.offset), record)
