"""The partition reader (the pipeline's splittable DoFn) outside Beam: exactly the offsets of its restriction,
once each, whether the range ends before the partition does, is split mid-read, or asks for offsets that the
partition does not hold."""

import time

import pytest
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from kafka import TopicPartition

from animerec.common.kafka import high_watermarks, topic_name
from animerec.devkit import eventworld as world
from animerec.landing.source import PartitionRange, ReadPartitions

from .conftest import produce

pytestmark = pytest.mark.integration


@pytest.fixture()
def watermarks(land_core):
    """{partition: high watermark} of the ingest topic, after 600 messages."""
    produce(land_core, world.messages(world.sized(600))[:600])
    topic = topic_name(land_core, "ingest")
    return {tp.partition: end for tp, end in high_watermarks(land_core, {TopicPartition(topic, p): 0
                                                                         for p in range(6)}).items()}


@pytest.fixture()
def backlog(land_core, watermarks):
    """(topic, a partition holding at least 40 records, its high watermark)."""
    partition, end = max(watermarks.items(), key=lambda kv: kv[1])
    assert end >= 40
    return topic_name(land_core, "ingest"), partition, end


def read(reader, element, tracker, split_after=None):
    chunks = []
    for chunk in reader.process(element, tracker=tracker):
        chunks.append(chunk)
        if split_after is not None and len(chunks) == split_after:
            tracker.try_split(0)  # a runner checkpoints the rest: the residual is no longer ours
    return [r for chunk in chunks for r in chunk]


def test_reads_exactly_the_range_once(land_core, backlog):
    topic, partition, end = backlog
    reader = ReadPartitions(land_core, max_chunk=7)
    reader.setup()
    try:
        start, stop = 5, end - 5  # ends before the partition does: the records after stop are not ours
        tracker = OffsetRestrictionTracker(OffsetRange(start, stop))
        records = read(reader, PartitionRange(topic, partition, start, stop), tracker)
        assert [r.offset for r in records] == list(range(start, stop))
        assert all(r.topic == topic and r.partition == partition and r.value.startswith(b"{") for r in records)
        assert all(r.schema_header and r.key for r in records)
        tracker.check_done()
        # The same reader, the next range of the same partition (how DirectRunner reuses one instance).
        tracker = OffsetRestrictionTracker(OffsetRange(stop, end))
        assert [r.offset for r in read(reader, PartitionRange(topic, partition, stop, end), tracker)] == \
            list(range(stop, end))
        tracker.check_done()
    finally:
        reader.teardown()


def test_a_split_mid_read_keeps_only_the_primary(land_core, backlog):
    topic, partition, end = backlog
    reader = ReadPartitions(land_core, max_chunk=10)
    reader.setup()
    try:
        tracker = OffsetRestrictionTracker(OffsetRange(0, end))
        records = read(reader, PartitionRange(topic, partition, 0, end), tracker, split_after=1)
        primary = tracker.current_restriction()
        assert primary.stop < end
        assert [r.offset for r in records] == list(range(primary.start, primary.stop))
        tracker.check_done()
    finally:
        reader.teardown()


def test_offsets_the_partition_does_not_hold_time_out(land_core, backlog):
    topic, partition, end = backlog
    reader = ReadPartitions(land_core, read_timeout_s=1.5, poll_timeout_ms=200)
    reader.setup()
    try:
        tracker = OffsetRestrictionTracker(OffsetRange(end - 3, end + 10))
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=rf"\[{partition}\]: offsets {end}\.\.{end + 10}"):
            read(reader, PartitionRange(topic, partition, end - 3, end + 10), tracker)
        assert time.monotonic() - started < 10
    finally:
        reader.teardown()


@pytest.mark.parametrize("order", ["as announced", "reversed"])
def test_fetching_ahead_never_changes_what_a_range_yields(land_core, watermarks, order):
    """The reader is told the batch's ranges; whatever order they come in, each yields exactly its offsets."""
    topic = topic_name(land_core, "ingest")
    ranges = [PartitionRange(topic, p, 3, end) for p, end in sorted(watermarks.items()) if end > 3]
    reader = ReadPartitions(land_core, max_chunk=50, upcoming=ranges)
    reader.setup()
    try:
        for r in ranges if order == "as announced" else ranges[::-1]:
            tracker = OffsetRestrictionTracker(OffsetRange(r.start, r.stop))
            records = read(reader, r, tracker)
            assert [x.offset for x in records] == list(range(r.start, r.stop))
            assert {x.partition for x in records} == {r.partition}
            tracker.check_done()
        assert len(reader.idle) + len(reader.ahead) == 2
    finally:
        reader.teardown()
