"""A bounded Kafka read as a Beam source: a splittable DoFn over partition offset ranges, kafka-python inside.

Each element names one partition and the offsets to read, [start, stop): the writer takes start from the
group's committed offset and stop from the high watermark. The restriction is that offset range, so a runner
can split it (Flink hands the pieces to several workers) and checkpoint it; each piece seeks and reads on its
own. Records leave in chunks (one list per fetch), so the per-element cost of the runner is paid per chunk.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from kafka import KafkaConsumer, TopicPartition

from animerec.common.config import CoreSettings
from animerec.common.kafka import H_SCHEMA, client_options

from .validate import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionRange:
    topic: str
    partition: int
    start: int      # first offset to read (the committed offset)
    stop: int       # first offset not to read (the high watermark, or less to bound a batch)
    split: int = 50_000     # largest piece a runner reads as one unit

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


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


class ReadPartitions(beam.DoFn):
    """PartitionRange -> lists of Record, every offset of the range exactly once."""

    def __init__(self, core: CoreSettings, *, poll_timeout_ms: int = 500, read_timeout_s: float = 30.0,
                 max_poll_records: int = 5000) -> None:
        self.core = core
        self.poll_timeout_ms = poll_timeout_ms
        self.read_timeout_s = read_timeout_s
        self.max_poll_records = max_poll_records

    def setup(self) -> None:
        # One partition at a time: a fetch may fill its whole size from that partition (the 1 MB per-partition
        # default would cost a round trip per thousand records).
        self.consumer = KafkaConsumer(**client_options(self.core, "landing-read"), enable_auto_commit=False,
                                      auto_offset_reset="earliest", max_poll_records=self.max_poll_records,
                                      max_partition_fetch_bytes=32 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)

    def process(self, element: PartitionRange,
                tracker: OffsetRestrictionTracker = beam.DoFn.RestrictionParam(OffsetRanges())):
        restriction = tracker.current_restriction()
        if restriction.start >= restriction.stop:
            return
        tp = element.tp
        self.consumer.assign([tp])
        self.consumer.seek(tp, restriction.start)
        claimed = restriction.start - 1
        deadline = time.monotonic() + self.read_timeout_s
        while True:
            stop = tracker.current_restriction().stop
            records = self.consumer.poll(timeout_ms=self.poll_timeout_ms).get(tp, [])
            if not records:
                if self.consumer.position(tp) >= stop:  # the rest of the range holds no records (gaps)
                    if claimed < stop - 1:
                        tracker.try_claim(stop - 1)
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{tp.topic}[{tp.partition}]: offsets {claimed + 1}..{stop} not readable "
                                       f"within {self.read_timeout_s}s")
                continue
            deadline = time.monotonic() + self.read_timeout_s
            last = records[-1].offset
            if last >= stop:
                records = [r for r in records if r.offset < stop]
                if not records:
                    if claimed < stop - 1:
                        tracker.try_claim(stop - 1)
                    return
                last = records[-1].offset
            # One claim covers the chunk: every offset up to `last` is this restriction's.
            if not tracker.try_claim(last):
                stop = tracker.current_restriction().stop  # split meanwhile: keep what is still ours
                records = [r for r in records if r.offset < stop]
                if records and not tracker.try_claim(records[-1].offset):
                    return
                if records:
                    yield self._chunk(tp, records)
                return
            claimed = last
            yield self._chunk(tp, records)
            if claimed >= stop - 1:
                return

    @staticmethod
    def _chunk(tp: TopicPartition, records: list) -> list[Record]:
        topic, partition = tp.topic, tp.partition
        return [Record(topic, partition, r.offset, r.key.decode("utf-8", "replace") if r.key is not None else None,
                       r.value or b"", _schema_header(r.headers)) for r in records]

    def teardown(self) -> None:
        consumer = getattr(self, "consumer", None)
        if consumer is not None:
            consumer.close(autocommit=False)
