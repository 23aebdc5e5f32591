"""Where items go: JSON lines, the landing tables directly, or the Kafka ingestion topic.

`emit` returns a concurrent.futures.Future that completes once the item is durable (written and
flushed, committed, or acknowledged by Kafka), so the caller can hold a Kafka offset until then.
Dead letters (pages that failed to parse) go to the sink's own dead-letter place.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from animerec.common import contracts
from animerec.common.config import CoreSettings
from animerec.common.kafka import EventProducer, build_dead_letter, topic_name

SINKS = ("jsonl", "postgres", "kafka")


def _done(value: Any = None) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def dead_letter_message(stage: str, error: str, payload: bytes | str, url: str | None, key: str | None,
                        max_bytes: int) -> dict[str, Any]:
    return build_dead_letter(stage, error, payload, key=key, url=url, max_bytes=max_bytes).message


class Sink:
    name = "sink"
    dead_letter_max_bytes = 262144

    def emit(self, key: str, item: dict[str, Any]) -> Future:
        raise NotImplementedError

    def dead_letter(self, stage: str, error: str, payload: bytes | str, *, url: str | None = None,
                    key: str | None = None) -> Future:
        raise NotImplementedError

    def close(self) -> None:
        pass


class JsonlSink(Sink):
    """One JSON object per line; `-` is stdout. Dead letters go to <path>.deadletter.jsonl (stderr for stdout)."""

    name = "jsonl"

    def __init__(self, path: str | Path = "-") -> None:
        self._lock = threading.Lock()
        if str(path) == "-":
            self._out: TextIO = sys.stdout
            self._dlq: TextIO = sys.stderr
            self._own = False
        else:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = path.open("a", encoding="utf-8")
            self._dlq = path.with_suffix(".deadletter.jsonl").open("a", encoding="utf-8")
            self._own = True

    def _write(self, stream: TextIO, message: dict[str, Any]) -> Future:
        with self._lock:
            stream.write(json.dumps(message, ensure_ascii=False) + "\n")
            stream.flush()
        return _done(message)

    def emit(self, key: str, item: dict[str, Any]) -> Future:
        return self._write(self._out, item)

    def dead_letter(self, stage, error, payload, *, url=None, key=None) -> Future:
        return self._write(self._dlq, dead_letter_message(stage, error, payload, url, key, self.dead_letter_max_bytes))

    def close(self) -> None:
        if self._own:
            self._out.close()
            self._dlq.close()


class KafkaSink(Sink):
    """The ingestion topic (keyed by anime id or user name) and the dead-letter topic."""

    name = "kafka"

    def __init__(self, core: CoreSettings, producer: EventProducer | None = None) -> None:
        self.producer = producer or EventProducer(core, "crawler")
        self.topic = topic_name(core, "ingest")
        self.dlq_topic = topic_name(core, "deadletter")

    @staticmethod
    def _bridge(kafka_future, value: Any) -> Future:
        future: Future = Future()
        kafka_future.add_callback(lambda _meta: future.set_result(value))
        kafka_future.add_errback(lambda exc: future.set_exception(exc))
        return future

    def emit(self, key: str, item: dict[str, Any]) -> Future:
        # The spider validated the item (spiders.check) just before: one check per hop.
        return self._bridge(self.producer.send(self.topic, item, key=key, check=False), item)

    def dead_letter(self, stage, error, payload, *, url=None, key=None) -> Future:
        letter = build_dead_letter(stage, error, payload, key=key, url=url, max_bytes=self.dead_letter_max_bytes)
        return self._bridge(self.producer.send_dead_letter(letter), letter.message)

    def close(self) -> None:
        self.producer.flush(30)
        self.producer.close()


_META = ("item_type",)


class PostgresSink(Sink):
    """Inserts each item into landing.<item_type> (no Kafka provenance); dead letters into landing.rejects."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg
        self._conn = psycopg.connect(url)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-sink")

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        from psycopg import sql
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier("landing", table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)))
        try:
            self._conn.execute(query, list(row.values()))
            self._conn.commit()
        except Exception:
            self._conn.rollback()
            raise

    def emit(self, key: str, item: dict[str, Any]) -> Future:
        item_type = item["item_type"]
        if item_type not in contracts.ITEM_TYPES:
            raise contracts.SchemaError(item_type, "not an item type with a landing table")
        row = {k: v for k, v in item.items() if k not in _META}
        return self._pool.submit(lambda: (self._insert(item_type, row), item)[1])

    def dead_letter(self, stage, error, payload, *, url=None, key=None) -> Future:
        message = dead_letter_message(stage, error, payload, url, key, self.dead_letter_max_bytes)
        row = {"stage": stage, "error": message["error"], "payload": message["payload"], "message_key": key or url}
        return self._pool.submit(lambda: (self._insert("rejects", row), message)[1])

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._conn.close()


def make(kind: str, core: CoreSettings, *, out: str | Path = "-", dead_letter_max_bytes: int | None = None) -> Sink:
    if kind == "jsonl":
        sink: Sink = JsonlSink(out)
    elif kind == "postgres":
        sink = PostgresSink(core.postgres_url)
    elif kind == "kafka":
        sink = KafkaSink(core)
    else:
        raise ValueError(f"unknown sink {kind!r} (known: {', '.join(SINKS)})")
    if dead_letter_max_bytes:
        sink.dead_letter_max_bytes = dead_letter_max_bytes
    return sink
