"""The Beam pipeline that lands one bounded batch: Kafka offset ranges -> decode, validate -> PostgreSQL.

    PartitionRanges | ReadPartitions (splittable DoFn, librdkafka) | Validate | WriteLanding

The writer builds the ranges (committed offset .. high watermark of each partition it owns), runs the pipeline
and commits the Kafka offsets only after `run()` returned, i.e. after every bundle's database transaction
committed. A crash anywhere before the offset commit replays the ranges; the provenance key makes the replay
land nothing twice. Nothing in the pipeline refers to the machine it was built on, so a portable runner
(Flink) runs it unchanged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import apache_beam as beam
import psycopg
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from animerec.common import contracts
from animerec.common.config import CoreSettings

from . import sink
from .chunks import Checked, RecordChunk
from .source import PartitionRange, ReadPartitions
from .tables import landing_tables
from .validate import MAX_MESSAGE_BYTES, Landed, Rejected, check

log = logging.getLogger(__name__)
NAMESPACE = "animerec.landing"
DB_STAGE = "landing.write"


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
    """Buffers a bundle's rows per table and writes them, with its rejects, in one transaction.

    Rows the database refuses (a value out of a column's range, text it cannot encode) are found by halving the
    refused chunk, and become rejects, so one bad message never blocks its partition and a chunk of good rows
    still lands in a few statements. Rejects are stored 'pending': the writer sends their dead letters after
    the commit (deadletters.py), once each.
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

    def start_bundle(self) -> None:
        self.rows: dict[str, list[Landed]] = defaultdict(list)
        self.rejects: list[Rejected] = []

    def process(self, chunk: Checked):
        rows = self.rows
        for item in chunk.landed:
            rows[item.schema].append(item)
        self.rejects.extend(chunk.rejected)

    def finish_bundle(self) -> None:
        if not self.rows and not self.rejects:
            return
        with self.conn.transaction():
            for schema, items in self.rows.items():
                items.sort(key=lambda i: (i.record.partition, i.record.offset))
                step = self.options.chunk_rows
                for start in range(0, len(items), step):
                    chunk = items[start:start + step]
                    new = self._write(schema, chunk)
                    self.landed[schema].inc(new)
                    self.duplicates[schema].inc(len(chunk) - new - self._refused)
            if self.rejects:
                state = "pending" if self.options.dead_letter else "none"
                limit = self.options.dead_letter_max_bytes
                sink.write_rejects(self.conn, [r.row(limit, state) for r in self.rejects])
                self.rejected.inc(len(self.rejects))

    def _write(self, schema: str, items: list[Landed]) -> int:
        """New rows of `items` landed; refused ones become rejects (counted in self._refused)."""
        self._refused = 0
        return self._write_part(self.tables[schema], items)

    def _write_part(self, spec, items: list[Landed]) -> int:
        try:
            with self.conn.transaction():  # a savepoint: a refused chunk is split and retried
                return sink.write_rows(self.conn, spec, [i.row for i in items])
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgrammingError,
                UnicodeError, ValueError, TypeError, OverflowError) as exc:
            if len(items) == 1:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.rejects.append(Rejected(DB_STAGE, f"{spec.schema}: {reason}", items[0].record))
                self._refused += 1
                return 0
            if len(items) > 64:
                log.warning("chunk refused by the database; finding the refused rows",
                            extra={"table": spec.table, "rows": len(items), "error": str(exc).splitlines()[0][:300]})
        half = len(items) // 2
        return self._write_part(spec, items[:half]) + self._write_part(spec, items[half:])

    def teardown(self) -> None:
        if getattr(self, "conn", None) is not None:
            self.conn.close()


def build(pipeline: beam.Pipeline, ranges: list[PartitionRange], core: CoreSettings, options: Options) -> None:
    _ = (pipeline
         | "Ranges" >> beam.Create(ranges)
         | "Read" >> beam.ParDo(ReadPartitions(core, group=options.group, poll_timeout_ms=options.poll_timeout_ms,
                                               read_timeout_s=options.read_timeout_s)).with_output_types(RecordChunk)
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
    result = pipeline.run()
    result.wait_until_finish()
    return _result(result)


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
