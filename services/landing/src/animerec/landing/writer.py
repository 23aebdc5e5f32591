"""The landing writer's loop: take part in the group -> Beam pipeline over the owned offset ranges -> commit.

The writer is a consumer-group member that fetches nothing itself (every partition paused): the group tells it
which partitions it owns, the committed offsets say where their backlog starts and the fetch high watermarks
where it ends. The pipeline reads exactly those ranges; the offsets are committed once it returned.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import psycopg
from kafka import TopicPartition
from kafka.errors import CommitFailedError, KafkaError

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventConsumer, high_watermarks, topic_name

from . import metrics as m
from .beam_job import BatchResult, Options, allowed_schemas, run_batch
from .config import LandingSettings
from .deadletters import DeadLetterSender
from .source import PartitionRange
from .tables import check_columns, landing_tables

log = logging.getLogger(__name__)


@dataclass
class Totals:
    batches: int = 0
    read: int = 0
    landed: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_letters: int = 0
    busy_s: float = 0.0     # time spent in batches (poll, bounds, pipeline, commit), without idle cycles or joins


@dataclass
class Cycle:
    ranges: list[PartitionRange]
    assigned: int = 0
    caught_up: bool = True  # every owned partition was read up to the high watermark seen at the start
    started: float = field(default_factory=time.monotonic)  # once the assignment was known: the batch's start


def shares(backlog: dict[TopicPartition, int], budget: int) -> dict[TopicPartition, int]:
    """Messages each partition gives to a batch of at most `budget` (at least one each): equal shares, and what
    a short backlog leaves of its share goes to the others, so a backlog that fits takes one batch."""
    out: dict[TopicPartition, int] = {}
    left = budget
    for i, (tp, n) in enumerate(sorted(backlog.items(), key=lambda kv: kv[1])):
        out[tp] = min(n, max(1, math.ceil(left / (len(backlog) - i))))
        left -= out[tp]
    return out


class Writer:
    def __init__(self, core: CoreSettings, settings: LandingSettings) -> None:
        self.core = core
        self.settings = settings
        self.topics = [topic_name(core, key) for key in settings.topics]
        self.options = Options(allowed=allowed_schemas(core.topic_prefix, settings.topics), group=settings.group,
                               chunk_rows=settings.write_chunk_rows, dead_letter=settings.dead_letter,
                               dead_letter_max_bytes=settings.dead_letter_max_bytes,
                               max_message_bytes=settings.max_message_bytes,
                               poll_timeout_ms=settings.poll_timeout_ms, read_timeout_s=settings.read_timeout_s)
        self.totals = Totals()
        self.conn = psycopg.connect(core.postgres_url, application_name="animerec-landing-writer")
        check_columns(self.conn, list(landing_tables().values()))
        self.conn.commit()
        self.dead_letters = DeadLetterSender(core)
        self.consumer = EventConsumer(core, settings.group, self.topics, check=False, fetch=False,
                                      session_timeout_ms=settings.session_timeout_ms,
                                      heartbeat_interval_ms=max(300, settings.session_timeout_ms // 4),
                                      max_poll_interval_ms=settings.rebalance_timeout_ms)

    def stop(self, *_: object) -> None:
        self.consumer.stop()

    def plan(self) -> Cycle:
        """The offset ranges of this cycle: committed offset .. high watermark of each owned partition."""
        # Without an assignment, keep polling: a join (JoinGroup, then SyncGroup) completes only inside polls.
        # (A first poll without a timeout, to save the 0.5 s it idles out with every partition paused, left
        # Tansu's SyncGroup failing over and over in the 50k crash test: it stays.) A batch's time starts with
        # this poll when the member already held partitions, after the join otherwise.
        started = time.monotonic() if self.consumer.assignment() else None
        deadline = time.monotonic() + self.settings.session_timeout_ms / 1000
        assigned = self.consumer.keep_alive(self.settings.poll_timeout_ms)
        while not assigned and time.monotonic() < deadline and not self.consumer.stopping:
            started = None
            assigned = self.consumer.keep_alive(self.settings.poll_timeout_ms)
        assigned = sorted(assigned, key=lambda tp: (tp.topic, tp.partition))
        if not assigned:
            return Cycle([], 0, False)
        started = started or time.monotonic()
        committed = self.consumer.committed(assigned)
        high = high_watermarks(self.core, committed, timeout=self.settings.read_timeout_s)
        backlog = {tp: high[tp] - committed[tp] for tp in assigned if high[tp] > committed[tp]}
        for tp in assigned:
            m.LAG.labels(tp.topic, str(tp.partition)).set(max(0, high[tp] - committed[tp]))
        if not backlog:
            return Cycle([], len(assigned), True, started)
        take = shares(backlog, self.settings.batch_max_messages)
        ranges = [PartitionRange(tp.topic, tp.partition, committed[tp], committed[tp] + take[tp],
                                 self.settings.split_messages) for tp in backlog]
        return Cycle(ranges, len(assigned), all(take[tp] == n for tp, n in backlog.items()), started)

    def cycle(self) -> Cycle:
        plan = self.plan()
        if plan.ranges:
            result = run_batch(plan.ranges, core=self.core, options=self.options, runner=self.settings.runner,
                               pipeline_args=self.settings.pipeline_args)
            self._commit(plan.ranges)  # only now: every row of the batch is committed in PostgreSQL
            self._account(plan, result, time.monotonic() - plan.started)
        if self.settings.dead_letter:
            self.totals.dead_letters += self.dead_letters.send_pending(self.conn)
        return plan

    def _commit(self, ranges: list[PartitionRange]) -> None:
        try:
            self.consumer.commit_offsets({TopicPartition(r.topic, r.partition): r.stop for r in ranges})
        except (CommitFailedError, KafkaError) as exc:
            # The partitions moved to another replica, which re-reads them; the provenance key keeps that harmless.
            m.COMMIT_FAILURES.inc()
            log.warning("offset commit refused; the new owner re-reads the batch", extra={"error": str(exc)})

    def _group_drained(self) -> bool:
        """No committed-offset lag left for the group on any partition of its topics.

        Asked through this member's own client: a second client of the group would disturb a join in progress.
        """
        try:
            tps = [TopicPartition(t, p) for t in self.topics
                   for p in sorted(self.consumer.kafka.partitions_for_topic(t) or ())]
            return bool(tps) and sum(self.consumer.lag(tps).values()) == 0
        except (KafkaError, TimeoutError) as exc:
            log.warning("could not read the group's lag", extra={"error": str(exc)})
            return False

    def _account(self, plan: Cycle, result: BatchResult, seconds: float) -> None:
        t = self.totals
        messages = sum(r.stop - r.start for r in plan.ranges)
        t.batches += 1
        t.busy_s += seconds
        t.read += messages
        t.rejected += result.rejected
        m.REJECTS.inc(result.rejected)
        for schema, n in result.landed.items():
            t.landed += n
            m.LANDED.labels(schema).inc(n)
        for schema, n in result.duplicates.items():
            t.duplicates += n
            m.DUPLICATES.labels(schema).inc(n)
        m.BATCH_SECONDS.observe(seconds)
        m.BATCH_MESSAGES.observe(messages)
        log.info("batch landed", extra={"messages": messages, "landed": sum(result.landed.values()),
                                        "duplicates": sum(result.duplicates.values()),
                                        "rejected": result.rejected, "seconds": round(seconds, 3)})

    def run(self, once: bool = False, join_timeout_s: float = 60.0) -> Totals:
        """Land until stopped; with `once`, until the group has no lag left on any partition of its topics.

        A failed batch (the database or the broker away) is logged and retried; message content never fails one.
        """
        idle_since: float | None = None
        failures = 0
        try:
            while not self.consumer.stopping:
                try:
                    plan = self.cycle()
                    failures = 0
                except Exception as exc:  # the broker or the database away, a runner failure: never content
                    failures += 1
                    if failures >= self.settings.max_failures:
                        raise
                    log.warning("batch failed; retrying", exc_info=True,
                                extra={"error": str(exc)[:500], "failures": failures})
                    time.sleep(min(30.0, self.settings.idle_sleep_s * 2 ** failures))
                    continue
                if once:
                    # Caught up on *our* partitions is not enough: a replica that died moments ago still owns
                    # its partitions until its session expires, and their backlog is part of what --once drains.
                    if plan.ranges or not (plan.caught_up or plan.assigned == 0):
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
                elif not plan.ranges:
                    time.sleep(self.settings.idle_sleep_s)
        finally:
            self.consumer.close()
            self.dead_letters.close()
            self.conn.close()
        return self.totals
