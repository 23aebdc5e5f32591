"""The Beam pipeline that lands one bounded batch: Kafka offset ranges -> decode, validate -> PostgreSQL.

    PartitionRanges | ReadPartitions (splittable DoFn, librdkafka) | Validate | WriteLanding

The writer builds the ranges (committed offset .. high watermark of each partition it owns), runs the pipeline
and commits the Kafka offsets only after `run()` returned, i.e. after every bundle's database transaction
committed. A crash anywhere before the offset commit replays the ranges; the provenance key makes the replay
land nothing twice. Nothing in the pipeline refers to the machine it was built on, so a portable runner
(Flink) runs it unchanged.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import apache_beam as beam
import psycopg
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from animerec.common import contracts
from animerec.common.config import CoreSettings

from .bundlewriter import BundleWriter
from .chunks import Checked, RecordChunk
from .source import PartitionRange, ReadPartitions
from .tables import landing_tables
from .validate import MAX_MESSAGE_BYTES, Landed, Rejected, check

log = logging.getLogger(__name__)
NAMESPACE = "animerec.landing"


@dataclass
class BatchResult:
    landed: dict[str, int] = field(default_factory=dict)       # schema -> new rows
    duplicates: dict[str, int] = field(default_factory=dict)   # schema -> rows already landed
    rejected: int = 0


@dataclass(frozen=True)
class Options:
    """What the pipeline's steps need; plain values, so the steps pickle for any runner."""

    allowed: dict[str, tuple[str, ...]]
    group: str = "animerec-landing"     # names the partition reader's client; it joins nothing
    chunk_rows: int = 10000
    dead_letter: bool = True
    dead_letter_max_bytes: int = 262144
    max_message_bytes: int = MAX_MESSAGE_BYTES
    poll_timeout_ms: int = 500
    read_timeout_s: float = 30.0


def allowed_schemas(topic_prefix: str, topic_keys: list[str]) -> dict[str, tuple[str, ...]]:
    known = contracts.topics(topic_prefix)
    return {known[k].name: known[k].schemas for k in topic_keys}


class Validate(beam.DoFn):
    """A chunk of records -> the chunk's landed rows and rejects."""

    def __init__(self, options: Options) -> None:
        self.options = options

    def setup(self) -> None:
        self.tables = landing_tables()

    def process(self, records: RecordChunk):
        allowed, tables, limit = self.options.allowed, self.tables, self.options.max_message_bytes
        out = Checked()
        landed, rejected = out.landed.append, out.rejected.append
        for record in records:
            result = check(record, allowed, tables, limit)
            if type(result) is Landed:
                landed(result)
            else:
                rejected(result)  # type: ignore[arg-type]
        yield out


class WriteLanding(beam.DoFn):
    """Lands a bundle's rows, with its rejects, in one transaction (bundlewriter.py).

    Rows are handed to the database writer whenever it is idle, so the database works while this thread goes
    on reading and validating; finish_bundle hands over the rest and the rejects, and returns once committed.
    Rejects are stored 'pending': the writer sends their dead letters after the commit (deadletters.py), once
    each.
    """

    def __init__(self, core: CoreSettings, options: Options) -> None:
        self.core = core
        self.options = options

    def setup(self) -> None:
        self.tables = landing_tables()
        self.conn = psycopg.connect(self.core.postgres_url, application_name="animerec-landing")
        self.rejected = Metrics.counter(NAMESPACE, "rejected")
        self.landed = {s: Metrics.counter(NAMESPACE, f"landed.{s}") for s in self.tables}
        self.duplicates = {s: Metrics.counter(NAMESPACE, f"duplicates.{s}") for s in self.tables}
        self.db: BundleWriter | None = None

    def start_bundle(self) -> None:
        self._abort()  # a bundle that failed before its finish_bundle: roll its transaction back
        self.rows: dict[str, list[Landed]] = defaultdict(list)
        self.rejects: list[Rejected] = []

    def process(self, chunk: Checked):
        rows = self.rows
        for item in chunk.landed:
            rows[item.schema].append(item)
        self.rejects.extend(chunk.rejected)
        if rows and (self.db is None or self.db.idle):
            self._writer().write(rows)
            self.rows = defaultdict(list)

    def finish_bundle(self) -> None:
        if self.rows:
            self._writer().write(self.rows)
        if self.db is None and not self.rejects:
            return
        db, self.db = self._writer(), None
        counts = db.finish(self.rejects)
        for schema, n in counts.landed.items():
            self.landed[schema].inc(n)
        for schema, n in counts.duplicates.items():
            self.duplicates[schema].inc(n)
        self.rejected.inc(counts.rejected)

    def _writer(self) -> BundleWriter:
        if self.db is None:
            self.db = BundleWriter(self.conn, self.tables, chunk_rows=self.options.chunk_rows,
                                   reject_state="pending" if self.options.dead_letter else "none",
                                   dead_letter_max_bytes=self.options.dead_letter_max_bytes)
        return self.db

    def _abort(self) -> None:
        db, self.db = getattr(self, "db", None), None
        if db is not None:
            db.abort()

    def teardown(self) -> None:
        self._abort()
        if getattr(self, "conn", None) is not None:
            self.conn.close()


def build(pipeline: beam.Pipeline, ranges: list[PartitionRange], core: CoreSettings, options: Options) -> None:
    _ = (pipeline
         | "Ranges" >> beam.Create(ranges)
         | "Read" >> beam.ParDo(ReadPartitions(core, group=options.group, poll_timeout_ms=options.poll_timeout_ms,
                                               read_timeout_s=options.read_timeout_s, upcoming=ranges))
         .with_output_types(RecordChunk)
         | "Validate" >> beam.ParDo(Validate(options)).with_output_types(Checked)
         | "Land" >> beam.ParDo(WriteLanding(core, options)))


def run_batch(ranges: list[PartitionRange], *, core: CoreSettings, options: Options,
              runner: str = "DirectRunner", pipeline_args: list[str] | None = None) -> BatchResult:
    """Read, validate and land the offset ranges; returns once every row is committed to PostgreSQL."""
    flags = list(pipeline_args or [])
    if runner == "DirectRunner":
        # DirectRunner would first try Prism, whose binary it downloads at run time (none offline, and a
        # wasted second per batch online); the in-process portable runner is what it falls back to anyway.
        runner = "FnApiRunner"
    in_process = runner == "FnApiRunner" and not any(f.startswith("--direct_num_workers") for f in flags)
    pipeline_options = PipelineOptions(flags=flags, runner=runner, save_main_session=False,
                                       **({"direct_num_workers": 1} if in_process else {}))
    pipeline = beam.Pipeline(options=pipeline_options)
    build(pipeline, ranges, core, options)
    with gc_paused():
        result = pipeline.run()
        result.wait_until_finish()
    return _result(result)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a batch (in this process; a runner's workers keep theirs).

    A batch holds a few objects per message alive until its COPY, and every full collection walks all of them
    again: a third of the writer's CPU on a 50k batch. What a batch builds is acyclic and freed by reference
    counting as each bundle ends; whatever cycles Beam leaves are collected after the batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _result(result) -> BatchResult:
    out = BatchResult()
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        name = counter.key.metric.name
        value = counter.committed if counter.committed is not None else (counter.attempted or 0)
        if name == "rejected":
            out.rejected += value
        elif name.startswith("landed."):
            out.landed[name.removeprefix("landed.")] = out.landed.get(name.removeprefix("landed."), 0) + value
        elif name.startswith("duplicates."):
            key = name.removeprefix("duplicates.")
            out.duplicates[key] = out.duplicates.get(key, 0) + value
    return out
