"""The landing writer's loop: bounded read -> Beam pipeline (validate, land) -> offset commit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventConsumer, consumer_lag, topic_name

from . import metrics as m
from .config import LandingSettings
from .pipeline import BatchResult, allowed_schemas, run_batch
from .reader import Batch, lag, read_batch
from .tables import check_columns, landing_tables

log = logging.getLogger(__name__)


@dataclass
class Totals:
    batches: int = 0
    read: int = 0
    landed: int = 0
    duplicates: int = 0
    rejected: int = 0
    busy_s: float = 0.0     # time spent in batches (read, pipeline, commit), without idle polls


class Writer:
    def __init__(self, core: CoreSettings, settings: LandingSettings) -> None:
        self.core = core
        self.settings = settings
        self.topics = [topic_name(core, key) for key in settings.topics]
        self.allowed = allowed_schemas(core.topic_prefix, settings.topics)
        self.totals = Totals()
        with psycopg.connect(core.postgres_url) as conn:
            check_columns(conn, list(landing_tables().values()))
        self.consumer = EventConsumer(core, settings.group, self.topics, check=False,
                                      max_poll_records=min(settings.batch_max_messages, 5000))

    def stop(self, *_: object) -> None:
        self.consumer.stop()

    def cycle(self) -> Batch:
        started = time.monotonic()
        s = self.settings
        batch = read_batch(self.consumer.kafka, s.batch_max_messages, s.poll_timeout_ms, s.read_timeout_s)
        if batch.records:
            read_s = time.monotonic() - started
            result = run_batch(batch.records, core=self.core, allowed=self.allowed, runner=s.runner,
                               dead_letter=s.dead_letter, chunk_rows=s.write_chunk_rows,
                               batch_dir=s.batch_dir or None)
            self._commit(batch)  # only now: every row of the batch is committed in PostgreSQL
            self._account(batch, result, time.monotonic() - started, read_s)
        for tp, behind in lag(self.consumer.kafka).items():
            m.LAG.labels(tp.topic, str(tp.partition)).set(behind)
        return batch

    def _group_drained(self) -> bool:
        """No committed-offset lag left for the group on any partition of its topics."""
        try:
            return all(sum(consumer_lag(self.core, self.settings.group, t).values()) == 0 for t in self.topics)
        except (KafkaError, TimeoutError) as exc:
            log.warning("could not read the group's lag", extra={"error": str(exc)})
            return False

    def _commit(self, batch: Batch) -> None:
        offsets = {tp: OffsetAndMetadata(o, "", -1) for tp, o in batch.next_offsets.items()}
        try:
            self.consumer.kafka.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The partitions moved to another replica, which re-reads them; ON CONFLICT keeps that harmless.
            m.COMMIT_FAILURES.inc()
            log.warning("offset commit refused; the new owner re-reads the batch", extra={"error": str(exc)})

    def _account(self, batch: Batch, result: BatchResult, seconds: float, read_s: float) -> None:
        t = self.totals
        t.batches += 1
        t.busy_s += seconds
        t.read += len(batch.records)
        t.rejected += result.rejected
        m.REJECTS.inc(result.rejected)
        for schema, n in result.landed.items():
            t.landed += n
            m.LANDED.labels(schema).inc(n)
        for schema, n in result.duplicates.items():
            t.duplicates += n
            m.DUPLICATES.labels(schema).inc(n)
        m.BATCH_SECONDS.observe(seconds)
        m.BATCH_MESSAGES.observe(len(batch.records))
        log.info("batch landed", extra={"messages": len(batch.records), "landed": sum(result.landed.values()),
                                        "duplicates": sum(result.duplicates.values()),
                                        "rejected": result.rejected, "seconds": round(seconds, 3),
                                        "read_seconds": round(read_s, 3)})

    def run(self, once: bool = False, join_timeout_s: float = 60.0) -> Totals:
        """Land until stopped; with `once`, until the group has no lag left on any partition of its topics."""
        idle_since: float | None = None
        try:
            while not self.consumer.stopping:
                batch = self.cycle()
                if once:
                    # Caught up on *our* partitions is not enough: a replica that died moments ago still owns
                    # its partitions until its session expires, and their backlog is part of what --once drains.
                    if batch.records or not (batch.caught_up or batch.assigned == 0):
                        idle_since = None
                        continue
                    if self._group_drained():
                        break
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > join_timeout_s:
                        log.warning("stopping with messages left on partitions other replicas own",
                                    extra={"group": self.settings.group})
                        break
                    time.sleep(self.settings.idle_sleep_s)
                elif not batch.records:
                    time.sleep(self.settings.idle_sleep_s)
        finally:
            self.consumer.close()
        return self.totals
