"""The Beam pipeline that lands one bounded batch of Kafka records.

The writer reads a bounded batch from Kafka in Python, runs this pipeline over it, and commits the
Kafka offsets only after `run()` returned, i.e. after every bundle's database transaction committed.
A crash anywhere before the offset commit replays the batch; ON CONFLICT on the provenance key makes
the replay land nothing twice.
"""

from __future__ import annotations

import logging
import os
import tempfile
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
from .tables import landing_tables
from .validate import Landed, Record, Rejected, check

log = logging.getLogger(__name__)
NAMESPACE = "animerec.landing"
DB_STAGE = "landing.write"


@dataclass
class BatchResult:
    landed: dict[str, int] = field(default_factory=dict)       # schema -> new rows
    duplicates: dict[str, int] = field(default_factory=dict)   # schema -> rows already landed
    rejected: int = 0


def allowed_schemas(topic_prefix: str, topic_keys: list[str]) -> dict[str, tuple[str, ...]]:
    known = contracts.topics(topic_prefix)
    return {known[k].name: known[k].schemas for k in topic_keys}


class Validate(beam.DoFn):
    def __init__(self, allowed: dict[str, tuple[str, ...]]) -> None:
        self.allowed = allowed

    def setup(self) -> None:
        self.tables = landing_tables()

    def process(self, record: Record):
        yield check(record, self.allowed, self.tables)


class WriteLanding(beam.DoFn):
    """Buffers a bundle's rows per table and writes them in one transaction at the end of the bundle.

    Rows the database refuses (a value out of a column's range, say) are retried one by one and the
    refused ones become rejects, so one bad message never blocks its partition.
    """

    def __init__(self, core: CoreSettings, dead_letter: bool, chunk_rows: int) -> None:
        self.core = core
        self.dead_letter = dead_letter
        self.chunk_rows = chunk_rows

    def setup(self) -> None:
        self.tables = landing_tables()
        self.conn = psycopg.connect(self.core.postgres_url, application_name="animerec-landing")
        self.producer = None
        self.rejected = Metrics.counter(NAMESPACE, "rejected")
        self.landed = {s: Metrics.counter(NAMESPACE, f"landed.{s}") for s in self.tables}
        self.duplicates = {s: Metrics.counter(NAMESPACE, f"duplicates.{s}") for s in self.tables}

    def start_bundle(self) -> None:
        self.rows: dict[str, list[tuple]] = defaultdict(list)
        self.rejects: list[Rejected] = []

    def process(self, item: Landed | Rejected):
        if isinstance(item, Landed):
            self.rows[item.schema].append(item.row)
        else:
            self.rejects.append(item)

    def finish_bundle(self) -> None:
        with self.conn.transaction():
            for schema, rows in self.rows.items():
                for start in range(0, len(rows), self.chunk_rows):
                    self._write(schema, rows[start:start + self.chunk_rows])
            if self.rejects:
                self._dead_letter(self.rejects)
                sink.write_rejects(self.conn, [r.row() for r in self.rejects])
                self.rejected.inc(len(self.rejects))

    def _write(self, schema: str, rows: list[tuple]) -> None:
        spec = self.tables[schema]
        try:
            with self.conn.transaction():  # a savepoint: a refused chunk is retried row by row
                new = sink.write_rows(self.conn, spec, rows)
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            log.warning("chunk refused by the database; landing it row by row",
                        extra={"table": spec.table, "rows": len(rows), "error": str(exc).splitlines()[0]})
            new = 0
            for row in rows:
                try:
                    with self.conn.transaction():
                        new += sink.write_rows(self.conn, spec, [row])
                except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as row_exc:
                    topic, partition, offset = row[-3:]
                    payload = dict(zip(spec.columns, row, strict=True))
                    record = Record(topic, partition, offset, None, repr(payload).encode(), schema)
                    self.rejects.append(Rejected(DB_STAGE, f"{schema}: {str(row_exc).splitlines()[0]}", record))
        self.landed[schema].inc(new)
        self.duplicates[schema].inc(len(rows) - new)

    def _dead_letter(self, rejects: list[Rejected]) -> None:
        # Sent (and acknowledged) before the rejects row commits: a crash in between re-sends, never loses.
        if not self.dead_letter:
            return
        from animerec.common.kafka import Event, EventProducer
        if self.producer is None:
            self.producer = EventProducer(self.core, "landing")
        for r in rejects:
            event = Event(r.record.topic, r.record.partition, r.record.offset, r.record.key, r.record.value)
            self.producer.dead_letter(r.stage, r.error, r.record.value, event=event, wait=False)
        self.producer.flush(30)

    def teardown(self) -> None:
        if getattr(self, "producer", None) is not None:
            self.producer.close()
        if getattr(self, "conn", None) is not None:
            self.conn.close()


def run_batch(records: list[Record], *, core: CoreSettings, allowed: dict[str, tuple[str, ...]],
              runner: str = "DirectRunner", dead_letter: bool = True, chunk_rows: int = 10000,
              batch_dir: str | None = None) -> BatchResult:
    """Validate and land one bounded batch; returns once every row is committed to PostgreSQL.

    The batch reaches the pipeline as a file of JSON lines: beam.Create would pickle the whole batch into
    the pipeline definition several times over, which costs more than validating it. The file is scratch
    (Kafka stays the source of truth) and goes once the pipeline finished.
    """
    fd, path = tempfile.mkstemp(prefix="landing-batch-", suffix=".jsonl", dir=batch_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for record in records:
                out.write(record.to_line() + b"\n")
        options = PipelineOptions(flags=[], runner=runner, direct_num_workers=1, save_main_session=False)
        pipeline = beam.Pipeline(options=options)
        _ = (pipeline
             | "Batch" >> beam.io.ReadFromText(path, coder=beam.coders.BytesCoder())
             | "Decode" >> beam.Map(Record.from_line)
             | "Validate" >> beam.ParDo(Validate(allowed))
             | "Land" >> beam.ParDo(WriteLanding(core, dead_letter, chunk_rows)))
        result = pipeline.run()
        result.wait_until_finish()
        return _result(result)
    finally:
        os.unlink(path)


def _result(result) -> BatchResult:
    out = BatchResult()
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        name, value = counter.key.metric.name, counter.committed or 0
        if name == "rejected":
            out.rejected += value
        elif name.startswith("landed."):
            out.landed[name.removeprefix("landed.")] = out.landed.get(name.removeprefix("landed."), 0) + value
        elif name.startswith("duplicates."):
            key = name.removeprefix("duplicates.")
            out.duplicates[key] = out.duplicates.get(key, 0) + value
    return out
