"""`animerec crawl worker`: a consumer-group member of the schedule topics feeding the crawl engine.

At-least-once: a message's offset is committed only once its URL's items are in the sink and its
bookkeeping is committed, and only when every earlier message of its partition is done too
(OffsetTracker). A killed worker leaves its unfinished messages uncommitted: the group hands them
to another replica (or to itself after a restart), and the shared dupefilter only skips URLs whose
crawl finished. Bad messages go to the dead-letter topic and are committed; a sink outage retries
the URL and, if it persists, stops the worker without committing it.
"""

from __future__ import annotations

import functools
import logging
import queue
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from animerec.common.config import CoreSettings
from animerec.common.kafka import Event, EventConsumer, EventProducer
from animerec.scheduler import store

from . import metrics, runtime, sinks
from .engine import CrawlEngine
from .jobs import JobResult
from .offsets import OffsetTracker
from .settings import CrawlerSettings
from .targets import Target, TargetError, resolve

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A schedule message this worker accepted and has not settled: its crawl runs, or waits for a retry."""

    event: Event
    target: Target
    attempt: int = 0        # sink failures so far; > 0 forces a fresh crawl past the dupefilter
    retry_at: float = 0.0   # time.monotonic() of the next try, while waiting in Worker.retries


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python has no types
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        # Commit what is finished before the partitions move; unfinished messages go to the new owner.
        self.worker.commit()
        self.worker.tracker.forget((tp.topic, tp.partition) for tp in revoked)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)})


class Worker:
    def __init__(self, core: CoreSettings, settings: CrawlerSettings, engine: CrawlEngine,
                 dead_letters: EventProducer) -> None:
        self.core = core
        self.settings = settings
        self.engine = engine
        self.dead_letters = dead_letters
        self.topics = store.kinds_by_topic(core)
        self.consumer = EventConsumer(core, settings.group, [], max_poll_records=settings.max_inflight)
        self.consumer.kafka.subscribe(list(self.topics), listener=_Rebalance(self))
        self.tracker = OffsetTracker()
        self.finished: queue.Queue[tuple[Pending, Future[JobResult]]] = queue.Queue()
        self.retries: list[Pending] = []
        self.crawling: dict[Target, Future[JobResult]] = {}   # the crawl in flight here of each target
        self.in_flight = 0
        self.fatal: str | None = None
        self._paused = False
        self._lag_at = 0.0

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        self.consumer.install_signal_handlers()
        log.info("worker started", extra={"group": self.settings.group, "topics": sorted(self.topics)})
        while not self.consumer.stopping and self.fatal is None:
            self._throttle()
            for event in self.consumer.poll(500):
                self._accept(event)
            self._drain_finished()
            self._resubmit_due()
            self.commit()
            self._report_lag()
        return self._shutdown()

    def _throttle(self) -> None:
        full = self.in_flight >= self.settings.max_inflight
        assigned = self.consumer.kafka.assignment()
        if full and not self._paused and assigned:
            self.consumer.kafka.pause(*assigned)
            self._paused = True
        elif not full and self._paused:
            self.consumer.kafka.resume(*self.consumer.kafka.paused())
            self._paused = False

    def _accept(self, event: Event) -> None:
        self.tracker.add(event.topic, event.partition, event.offset)
        if event.error is not None:
            self._reject(event, f"bad schedule message: {event.error}")
            return
        value = event.value or {}   # a message without an error has a value
        try:
            kind = self.topics.get(event.topic) or value["kind"]
            target = resolve(value["url"], value.get("source") or self.settings.source, kind)
        except (TargetError, KeyError) as exc:
            self._reject(event, str(exc))
            return
        self._submit(Pending(event, target))

    def _reject(self, event: Event, error: str) -> None:
        self.dead_letters.dead_letter("crawler.worker", error, event.raw, event=event,
                                      url=(event.value or {}).get("url") if event.value else None)
        metrics.DEAD_LETTERS.labels("crawler.worker").inc()
        log.warning("schedule message dead-lettered", extra={"topic": event.topic, "offset": event.offset,
                                                             "error": error})
        self.tracker.done(event.topic, event.partition, event.offset)

    def _submit(self, pending: Pending) -> None:
        self.in_flight += 1
        future = self.crawling.get(pending.target)
        if future is None or pending.attempt > 0:
            # A duplicate message (same URL, so same partition, so this worker) joins the crawl in flight.
            future = self.engine.submit(pending.target, force=pending.attempt > 0)
            self.crawling[pending.target] = future
        future.add_done_callback(functools.partial(self._finished, pending))

    def _finished(self, pending: Pending, future: Future[JobResult]) -> None:
        """Called on the engine's thread: hand the crawl back to the loop."""
        self.finished.put((pending, future))

    def _drain_finished(self) -> None:
        while True:
            try:
                pending, future = self.finished.get_nowait()
            except queue.Empty:
                return
            self.in_flight -= 1
            if self.crawling.get(pending.target) is future:
                del self.crawling[pending.target]
            event = pending.event
            error = future.exception()
            if error is not None:  # bookkeeping could not be written: give the message back
                self.fatal = f"bookkeeping failed: {error}"
                log.error("stopping: bookkeeping failed", extra={"url": pending.target.url, "error": str(error)})
                continue
            result: JobResult = future.result()
            if result.settled:
                self.tracker.done(event.topic, event.partition, event.offset)
                log.info("crawled", extra={"url": result.url, "outcome": result.outcome, "pages": result.pages,
                                           "items": result.item_count, "offset": event.offset,
                                           "errors": result.errors[:3]})
            elif pending.attempt < self.settings.sink_retries:
                pending.attempt += 1
                pending.retry_at = time.monotonic() + min(60.0, 2.0 ** pending.attempt)
                self.retries.append(pending)
                self.in_flight += 1  # still this worker's: keeps the partition's offset and the in-flight cap
                log.warning("sink failed, will retry", extra={"url": result.url, "attempt": pending.attempt,
                                                               "errors": result.errors[:3]})
            else:
                self.fatal = f"sink failed {pending.attempt + 1} times for {result.url}: {result.errors[:3]}"
                log.error("stopping: the sink keeps failing", extra={"url": result.url, "errors": result.errors[:3]})

    def _resubmit_due(self) -> None:
        now = time.monotonic()
        due = [p for p in self.retries if p.retry_at <= now]
        self.retries = [p for p in self.retries if p.retry_at > now]
        for pending in due:
            self.in_flight -= 1
            self._submit(pending)

    def commit(self) -> None:
        offsets = self.tracker.committable()
        if not offsets:
            return
        try:
            self.consumer.kafka.commit({TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
                                        for (t, p), o in offsets.items()})
        except KafkaError as exc:  # e.g. a rebalance under way: the offsets stay committable, retried next loop
            log.warning("offset commit failed", extra={"error": str(exc)})
            return
        self.tracker.committed(offsets)

    def _report_lag(self, every: float = 5.0) -> None:
        now = time.monotonic()
        if now - self._lag_at < every:
            return
        self._lag_at = now
        kafka = self.consumer.kafka
        for tp in kafka.assignment():
            high = kafka.highwater(tp)
            if high is None:
                continue
            done = self.tracker.last_committed(tp.topic, tp.partition)
            if done is None:
                done = kafka.committed(tp) or 0
            metrics.QUEUE_LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - done))

    def _shutdown(self) -> int:
        """Finish what is in flight (up to the grace period), commit it, leave the group."""
        deadline = time.monotonic() + self.settings.shutdown_grace_s
        while self.in_flight - len(self.retries) > 0 and time.monotonic() < deadline and self.fatal is None:
            time.sleep(0.1)
            self._drain_finished()
        self._drain_finished()
        self.commit()
        self.consumer.close()
        log.info("worker stopped", extra={"unfinished": self.in_flight, "fatal": self.fatal})
        return 1 if self.fatal else 0


def run(core: CoreSettings, settings: CrawlerSettings, *, sink: str = "kafka", out: str = "-") -> int:
    from animerec.common import metrics as common_metrics
    common_metrics.serve(core.metrics_port)
    dead_letters = EventProducer(core, "crawler-worker")
    the_sink = sinks.KafkaSink(core, dead_letters) if sink == "kafka" else sink
    try:
        with runtime.running(core, settings, sink=the_sink, out=out) as engine:
            return Worker(core, settings, engine, dead_letters).run()
    finally:
        if sink != "kafka":
            dead_letters.close()
