"""Bounded Kafka reads in Python: from each assigned partition's committed offset up to its high watermark.

Beam's own Kafka IO is cross-language (Java); this read stays in Python and hands the pipeline a
finite list, so each cycle is a bounded Beam job whose end is the moment offsets may be committed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from animerec.common.kafka import H_SCHEMA

from .validate import Record

log = logging.getLogger(__name__)


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # what to commit afterwards
    caught_up: bool = False     # every assigned partition was read up to its high watermark
    assigned: int = 0           # partitions this replica owned at the end of the read


def _schema_header(headers) -> str | None:
    for key, value in headers or ():
        if key == H_SCHEMA and value:
            return value.decode("utf-8", "replace")
    return None


def caught_up(consumer: KafkaConsumer) -> bool:
    """True when every assigned partition's position reached the high watermark its last fetch reported."""
    assignment = consumer.assignment()
    if not assignment:
        return False
    for tp in assignment:
        high = consumer.highwater(tp)
        if high is None:
            return False
        try:
            if consumer.position(tp, timeout_ms=1000) < high:
                return False
        except KafkaError:
            return False
    return True


def read_batch(consumer: KafkaConsumer, max_messages: int, poll_timeout_ms: int, timeout_s: float) -> Batch:
    """Poll until caught up, `max_messages` read, or `timeout_s` passed without reaching the watermarks."""
    batch = Batch()
    seen: set[tuple[str, int, int]] = set()
    deadline = time.monotonic() + timeout_s
    while len(batch.records) < max_messages:
        polled = consumer.poll(timeout_ms=poll_timeout_ms, max_records=max_messages - len(batch.records))
        for tp, records in polled.items():
            for r in records:
                if (tp.topic, tp.partition, r.offset) in seen:  # re-delivered after a rebalance
                    continue
                seen.add((tp.topic, tp.partition, r.offset))
                key = r.key.decode("utf-8", "replace") if r.key is not None else None
                batch.records.append(Record(tp.topic, tp.partition, r.offset, key, r.value or b"",
                                            _schema_header(r.headers)))
                batch.next_offsets[tp] = max(batch.next_offsets.get(tp, 0), r.offset + 1)
        if caught_up(consumer):
            batch.caught_up = True
            break
        if time.monotonic() > deadline:
            break
    batch.assigned = len(consumer.assignment())
    return batch


def lag(consumer: KafkaConsumer) -> dict[TopicPartition, int]:
    """High watermark minus position for every assigned partition whose watermark is known."""
    out = {}
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            continue
        try:
            out[tp] = max(0, high - consumer.position(tp, timeout_ms=1000))
        except KafkaError:
            continue
    return out
