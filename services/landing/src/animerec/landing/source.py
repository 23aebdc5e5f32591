"""A bounded Kafka read as a Beam source: a splittable DoFn over partition offset ranges, librdkafka inside.

Each element names one partition and the offsets to read, [start, stop): the writer takes start from the
group's committed offset and stop from the high watermark. The restriction is that offset range, so a runner
can split it (Flink hands the pieces to several workers) and checkpoint it; each piece seeks and reads on its
own. Records leave in chunks (one list per fetch), so the per-element cost of the runner is paid per chunk.

The reader is confluent-kafka (librdkafka), not kafka-python: kafka-python decodes every record batch in pure
Python, and that alone ran at ~0.35x of the raw COPY rate of the same rows, below the writer's whole budget;
librdkafka fetches and decodes in its own C thread, so this process's one Python thread is left to validation
and the COPY. It only reads: it joins no group and commits nothing (the writer's group member commits after
the pipeline), and it sees no partition that the writer did not hand it in a range.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from animerec.common.config import CoreSettings
from animerec.common.kafka import H_SCHEMA, librdkafka_options

from .chunks import RecordChunk
from .validate import Record

log = logging.getLogger(__name__)
_EOF = KafkaError._PARTITION_EOF
FETCH_BYTES = 256 * 1024


@dataclass(frozen=True)
class PartitionRange:
    topic: str
    partition: int
    start: int      # first offset to read (the committed offset)
    stop: int       # first offset not to read (the high watermark, or less to bound a batch)
    split: int = 50_000     # largest piece a runner reads as one unit


class OffsetRanges(RestrictionProvider):
    def initial_restriction(self, element: PartitionRange) -> OffsetRange:
        return OffsetRange(element.start, element.stop)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def split(self, element: PartitionRange, restriction: OffsetRange):
        # Pieces a runner may read in parallel; DirectRunner reads them one after another.
        yield from restriction.split(max(1, element.split), 1)

    def restriction_size(self, element: PartitionRange, restriction: OffsetRange) -> int:
        return restriction.size()


def _schema_header(headers: Any) -> str | None:
    for key, value in headers or ():
        if key == H_SCHEMA and value:
            return value.decode("utf-8", "replace")
    return None


def reader_config(core: CoreSettings, group: str) -> dict[str, Any]:
    """librdkafka consumer properties of the partition reader.

    group.id is required by librdkafka but only names the client here: partitions are assigned by hand, at
    explicit offsets, and nothing is committed. read_uncommitted: a range ends at the high watermark, the
    same end kafka-python's fetches report to the writer (read_committed would stop at the last stable offset).
    """
    return {**librdkafka_options(core, "landing-read"), "group.id": group, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "enable.partition.eof": True, "isolation.level": "read_uncommitted",
            # A start below the log's start (retention deleted it) reads from the first record still there.
            "auto.offset.reset": "earliest",
            # Fetches of a few thousand records: librdkafka decodes one and fetches the next in its own thread
            # while this one validates (one fetch of the whole range would be waited out in full).
            "fetch.max.bytes": 64 * 1024 * 1024, "max.partition.fetch.bytes": FETCH_BYTES,
            "queued.max.messages.kbytes": 16 * 1024,
            # A range is backlog: nothing to long-poll for. The broker holding the fetch of the previous range (at
            # its end) for the default 500 ms would delay the first fetch of the next one as long.
            "fetch.wait.max.ms": 10}


class ReadPartitions(beam.DoFn):
    """PartitionRange -> RecordChunks (lists of Record), every offset of the range exactly once.

    `upcoming`, the batch's ranges in the order a runner is likely to read them, only lets the reader fetch
    ahead: while one range is read, a second consumer is already assigned to the next one, so its first fetch
    (a round trip and the decompression of a few thousand records) does not wait in line. A runner that reads
    in another order, or hands the next range to another worker, costs one wasted prefetch (librdkafka's queue
    bounds it), never a wrong record: what a range yields depends on its restriction alone.
    """

    def __init__(self, core: CoreSettings, *, group: str = "animerec-landing", poll_timeout_ms: int = 500,
                 read_timeout_s: float = 30.0, max_chunk: int = 2000,
                 upcoming: Sequence[PartitionRange] = ()) -> None:
        self.core = core
        self.group = group
        self.poll_timeout_ms = poll_timeout_ms
        self.read_timeout_s = read_timeout_s
        self.max_chunk = max_chunk
        self.upcoming = [(r.topic, r.partition, r.start) for r in upcoming]

    def setup(self) -> None:
        config = reader_config(self.core, self.group)
        self.idle = [Consumer(config), Consumer(config)]
        self.ahead: dict[tuple[str, int], tuple[Consumer, int]] = {}  # partition -> consumer assigned at offset

    def process(self, element: PartitionRange,
                tracker: OffsetRestrictionTracker = beam.DoFn.RestrictionParam(OffsetRanges())):
        restriction = tracker.current_restriction()
        if restriction.start >= restriction.stop:
            return
        topic, partition = element.topic, element.partition
        consumer = self._consumer(topic, partition, restriction.start)
        self._fetch_ahead(topic, partition)
        try:
            yield from self._read(consumer, topic, partition, restriction.start, tracker)
        finally:
            consumer.unassign()
            self.idle.append(consumer)

    def _consumer(self, topic: str, partition: int, start: int) -> Consumer:
        """A consumer assigned to the partition at `start` or before (then _records skips what lies before)."""
        consumer, offset = self.ahead.pop((topic, partition), (None, -1))
        if consumer is not None and offset <= start:
            return consumer
        if consumer is not None:
            consumer.unassign()
            self.idle.append(consumer)
        consumer = self.idle.pop() if self.idle else self._take_ahead()
        consumer.assign([TopicPartition(topic, partition, start)])
        return consumer

    def _take_ahead(self) -> Consumer:
        """The consumer fetching ahead, taken back (a reader holds two consumers, whatever the order of ranges)."""
        consumer, _ = self.ahead.pop(next(iter(self.ahead)))
        consumer.unassign()
        return consumer

    def _fetch_ahead(self, topic: str, partition: int) -> None:
        keys = [(t, p) for t, p, _ in self.upcoming]
        if (topic, partition) not in keys or not self.idle:
            return
        following = keys.index((topic, partition)) + 1
        if following < len(keys) and keys[following] not in self.ahead:
            t, p, start = self.upcoming[following]
            consumer = self.idle.pop()
            consumer.assign([TopicPartition(t, p, start)])
            self.ahead[(t, p)] = (consumer, start)

    def _read(self, consumer: Consumer, topic: str, partition: int, start: int, tracker: OffsetRestrictionTracker):
        following = start           # the next offset this range may still hold
        deadline = time.monotonic() + self.read_timeout_s
        while True:
            stop = tracker.current_restriction().stop
            if following >= stop:
                return
            # Ask for what is left: consume() returns as soon as that many arrived (it waits out its timeout
            # for a larger count). The end-of-partition event stands in when gaps leave fewer records.
            messages = consumer.consume(min(self.max_chunk, stop - following), self.poll_timeout_ms / 1000)
            records, end = self._records(messages, topic, partition, following, stop)
            if records:
                deadline = time.monotonic() + self.read_timeout_s
                last = records[-1].offset
                # One claim covers the chunk: every offset up to `last` is this restriction's.
                if not tracker.try_claim(last):
                    stop = tracker.current_restriction().stop  # split meanwhile: keep what is still ours
                    records = RecordChunk(r for r in records if r.offset < stop)
                    if records and tracker.try_claim(records[-1].offset):
                        yield records
                    return
                following = last + 1
                yield records
            if end is not None and end >= stop:
                # The partition ends at or past the range: the offsets left hold no records (compaction,
                # transaction markers), since every record before the end came ahead of its end event.
                if following < stop:
                    tracker.try_claim(stop - 1)
                return
            if not records and time.monotonic() > deadline:
                raise TimeoutError(f"{topic}[{partition}]: offsets {following}..{stop} not readable "
                                   f"within {self.read_timeout_s}s")

    @staticmethod
    def _records(messages: list, topic: str, partition: int, following: int,
                 stop: int) -> tuple[RecordChunk, int | None]:
        """(records of [following, stop) in offset order, the partition's end if an end event came)."""
        records = RecordChunk()
        end = None
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() == _EOF:
                    if msg.partition() == partition:
                        end = msg.offset()
                    continue
                if error.fatal():
                    raise KafkaException(error)
                # librdkafka reconnects and refetches by itself; a lasting error ends in the read's timeout.
                log.warning("Kafka read error; retrying", extra={"error": str(error), "topic": topic,
                                                                  "partition": partition})
                continue
            offset = msg.offset()
            if offset < following or offset >= stop or msg.partition() != partition:
                continue  # before the range (a refetch), or read ahead past it
            following = offset + 1
            key = msg.key()
            headers = msg.headers()
            if headers and headers[0][0] == H_SCHEMA and headers[0][1]:  # where the producers here put it
                schema = headers[0][1].decode("utf-8", "replace")
            else:
                schema = _schema_header(headers)
            records.append(Record(topic, partition, offset, key.decode("utf-8", "replace") if key is not None else None,
                                  msg.value() or b"", schema))
        return records, end

    def teardown(self) -> None:
        for consumer in [*getattr(self, "idle", ()), *(c for c, _ in getattr(self, "ahead", {}).values())]:
            consumer.close()
        self.idle, self.ahead = [], {}
