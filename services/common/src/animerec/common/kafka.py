"""Kafka helpers on kafka-python: schema-checked producer, manual-commit consumer, lag, topics.

Lag is computed from the high watermark that fetch responses carry, not from the
ListOffsets admin call, so it stays right on brokers whose ListOffsets is incomplete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from . import contracts, kafka_security
from .config import CoreSettings
from .timefmt import now_iso

log = logging.getLogger(__name__)

H_SCHEMA = "animerec-schema"
H_VERSION = "animerec-schema-version"
H_PRODUCER = "animerec-producer"


def topic_name(settings: CoreSettings, key: str) -> str:
    """Full topic name for a logical key of schemas/topics.yaml ("ingest", "deadletter", ...)."""
    return contracts.topics(settings.topic_prefix)[key].name


def client_options(settings: CoreSettings, purpose: str) -> dict[str, Any]:
    """Connection options of every Kafka client this module builds (the one place for security settings)."""
    return {"bootstrap_servers": settings.kafka_bootstrap.split(","),
            "client_id": f"{settings.kafka_client_id}-{purpose}", **kafka_security.client_kwargs()}


def librdkafka_options(settings: CoreSettings, purpose: str) -> dict[str, Any]:
    """`client_options` for a librdkafka (confluent-kafka) client: the same brokers, client id and security."""
    return {"bootstrap.servers": settings.kafka_bootstrap, "client.id": f"{settings.kafka_client_id}-{purpose}",
            **kafka_security.librdkafka_config()}


# ---- dead letters: the one builder ---------------------------------------------------------------------------

H_DEAD_LETTER_ID = "animerec-dead-letter-id"
DEAD_LETTER_MAX_BYTES = 262144      # payload bytes kept in a dead letter; the size and hash of the whole stay
ERROR_MAX_CHARS = 4000


def _text(value: str) -> str:
    """The string with lone surrogates replaced: anything that goes out must be encodable UTF-8."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in max_bytes (never a broken character)."""
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", "ignore")


@dataclass(frozen=True)
class DeadLetter:
    id: str                     # deterministic: the same failure always gets the same id (resends are detectable)
    key: str | None
    message: dict[str, Any]


def dead_letter_id(stage: str, topic: str | None, partition: int | None, offset: int | None,
                   sha256: str) -> str:
    if topic is not None and partition is not None and offset is not None:
        return f"{topic}/{partition}/{offset}"
    return f"{stage}/{sha256}"


def build_dead_letter(stage: str, error: str, payload: bytes | str, *, topic: str | None = None,
                      partition: int | None = None, offset: int | None = None, key: str | None = None,
                      url: str | None = None, max_bytes: int = DEAD_LETTER_MAX_BYTES) -> DeadLetter:
    """A dead_letter event: payload cut to max_bytes of UTF-8 (invalid bytes as U+FFFD), original size and hash kept."""
    raw = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(raw).hexdigest()
    text = truncate_utf8(raw[:max_bytes * 4].decode("utf-8", "replace"), max_bytes)
    key = _text(key) if key is not None else None
    message = {
        "stage": stage, "error": _text(error or "unknown error")[:ERROR_MAX_CHARS], "payload": text,
        "payload_bytes": len(raw), "payload_sha256": digest,
        "payload_truncated": text.encode("utf-8") != raw,
        "source_topic": topic, "source_partition": partition, "source_offset": offset,
        "key": key, "url": _text(url) if url is not None else None, "failed_at": now_iso(),
    }
    return DeadLetter(dead_letter_id(stage, topic, partition, offset, digest), key or url, message)


def _encode(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


class EventProducer:
    """Validates every message against its event schema before it leaves the process."""

    def __init__(self, settings: CoreSettings, producer: str, *, acks: str | int = "all",
                 linger_ms: int = 5, compression: str | None = None, **kafka_options: Any) -> None:
        codec = compression or settings.kafka_compression
        self.settings = settings
        self.name = producer
        options: dict[str, Any] = {
            **client_options(settings, producer), "acks": acks, "linger_ms": linger_ms, "retries": 5,
            "compression_type": None if codec == "none" else codec,
        }
        options.update(kafka_options)
        self._producer = KafkaProducer(**options)

    def send(self, topic: str, message: dict[str, Any], *, key: str | None, schema: str | None = None,
             wait: bool = False, timeout: float = 30.0, check: bool = True,
             headers: Sequence[tuple[str, bytes]] = ()):
        """Validate, key and send one message. `wait` blocks until the broker acknowledged it.

        `check=False` is for a caller that validated the message itself moments ago: one check per hop.
        """
        schema = schema or contracts.schema_for(message)
        if check:
            contracts.validate(schema, message)
        all_headers = [
            (H_SCHEMA, schema.encode()),
            (H_VERSION, str(contracts.SCHEMA_VERSION).encode()),
            (H_PRODUCER, self.name.encode()),
            *headers,
        ]
        future = self._producer.send(topic, key=key.encode() if key is not None else None,
                                     value=_encode(message), headers=all_headers)
        return future.get(timeout) if wait else future

    def send_all(self, topic: str, items: Iterable[tuple[str | None, dict[str, Any]]], *,
                 schema: str | None = None, timeout: float = 60.0) -> int:
        """Send (key, message) pairs and return once every one is acknowledged; raises on any failure."""
        futures = [self.send(topic, message, key=key, schema=schema) for key, message in items]
        self._producer.flush(timeout)
        for future in futures:
            future.get(timeout)  # re-raises the broker's error, if any
        return len(futures)

    def dead_letter(self, stage: str, error: str, payload: bytes | str, *, event: Event | None = None,
                    url: str | None = None, key: str | None = None, wait: bool = True,
                    max_bytes: int = DEAD_LETTER_MAX_BYTES):
        """Park something that could not be processed on the dead-letter topic, with the reason."""
        letter = build_dead_letter(stage, error, payload, topic=event.topic if event else None,
                                   partition=event.partition if event else None,
                                   offset=event.offset if event else None,
                                   key=event.key if event else key, url=url, max_bytes=max_bytes)
        return self.send_dead_letter(letter, wait=wait)

    def send_dead_letter(self, letter: DeadLetter, *, wait: bool = False):
        return self.send(topic_name(self.settings, "deadletter"), letter.message, key=letter.key,
                         schema="dead_letter", wait=wait, headers=[(H_DEAD_LETTER_ID, letter.id.encode())])

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout)

    def close(self, timeout: float | None = 10) -> None:
        self._producer.close(timeout)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Event:
    """One consumed record; `error` is set (and `value` None) for a message that failed decoding or its schema."""

    topic: str
    partition: int
    offset: int
    key: str | None
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)
    value: dict[str, Any] | None = None
    schema: str | None = None
    error: str | None = None

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


def decode(record: Any, check: bool = True) -> Event:
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in (record.headers or [])}
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    event = Event(record.topic, record.partition, record.offset, key, record.value or b"", headers)
    try:
        value = json.loads(event.raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        event.error = f"not JSON: {exc}"
        return event
    try:
        event.schema = headers.get(H_SCHEMA) or contracts.schema_for(value)
        if check:
            contracts.validate(event.schema, value)
    except contracts.SchemaError as exc:
        event.error = str(exc)
        return event
    event.value = value
    return event


class EventConsumer:
    """A consumer-group member that commits only what the caller says is done."""

    def __init__(self, settings: CoreSettings, group: str, topics: Sequence[str], *, check: bool = True,
                 max_poll_records: int = 500, fetch: bool = True, **kafka_options: Any) -> None:
        """`fetch=False`: a member that only holds partitions (and commits for them) while something else
        reads them; every partition is paused the moment it is assigned, so this client fetches nothing."""
        self.check = check
        self.fetch = fetch
        self._stop = threading.Event()
        self.settings = settings
        options: dict[str, Any] = {
            **client_options(settings, group),
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": max_poll_records,
            "session_timeout_ms": settings.kafka_session_timeout_ms,
            "heartbeat_interval_ms": max(500, settings.kafka_session_timeout_ms // 4),
        }
        options.update(kafka_options)
        if not fetch:
            options.update(fetch_max_bytes=1024, max_partition_fetch_bytes=1024)
        self._consumer = KafkaConsumer(**options)
        if topics:
            self.subscribe(topics)

    def subscribe(self, topics: Sequence[str], listener: ConsumerRebalanceListener | None = None) -> None:
        if not self.fetch:
            listener = _PauseOnAssign(self, listener)
        self._consumer.subscribe(list(topics), listener=listener)

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment())

    def pause(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Stop fetching (all assigned partitions by default); the group membership stays alive on poll."""
        self._consumer.pause(*(self._consumer.assignment() if partitions is None else partitions))

    def resume(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        self._consumer.resume(*(self._consumer.paused() if partitions is None else partitions))

    def paused(self) -> set[TopicPartition]:
        return set(self._consumer.paused())

    def keep_alive(self, timeout_ms: int = 0) -> set[TopicPartition]:
        """Take part in the group (join, rebalance, heartbeat) without reading: every partition stays paused.

        Returns the assignment. With `fetch=False`, partitions assigned during this call are paused by the
        rebalance listener before any fetch for them is sent.
        """
        self._consumer.poll(timeout_ms=timeout_ms, max_records=1, update_offsets=False)
        self.pause()
        return self.assignment()

    def committed(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed offset per partition (0 where nothing was committed yet)."""
        return {tp: self._consumer.committed(tp) or 0 for tp in partitions}

    def commit_offsets(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit exactly these next-offsets (synchronously); raises CommitFailedError after a rebalance."""
        if offsets:
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})

    def lag(self, partitions: Iterable[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """High watermark minus committed offset for the given (default: assigned) partitions."""
        tps = list(self.assignment() if partitions is None else partitions)
        committed = self.committed(tps)
        high = high_watermarks(self.settings, committed)
        return {tp: max(0, high[tp] - committed[tp]) for tp in tps}

    @property
    def kafka(self) -> KafkaConsumer:
        return self._consumer

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, *_: object) -> None:
        """Ask the poll loop to finish; safe from a signal handler."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[Event]:
        if self._stop.is_set():
            return []
        batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return [decode(record, self.check) for records in batches.values() for record in records]

    def close(self) -> None:
        # autocommit is off: closing never commits anything the caller did not commit.
        self._consumer.close(autocommit=False)

    def __enter__(self) -> EventConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PauseOnAssign(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer, inner: ConsumerRebalanceListener | None) -> None:
        self.owner, self.inner = owner, inner

    def on_partitions_revoked(self, revoked: Any) -> None:
        if self.inner:
            self.inner.on_partitions_revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.owner._consumer.pause(*assigned)
        if self.inner:
            self.inner.on_partitions_assigned(assigned)


def high_watermarks(settings: CoreSettings, start: dict[TopicPartition, int],
                    timeout: float = 10.0) -> dict[TopicPartition, int]:
    """The high watermark of each partition, from fetch responses read at the given start offsets.

    The one lag computation of the code base. Fetch responses carry the high watermark on every broker;
    ListOffsets does not on all of them (Tansu's undercounts), so this never uses it.
    """
    if not start:
        return {}
    consumer = KafkaConsumer(**client_options(settings, "watermarks"), enable_auto_commit=False,
                             fetch_max_bytes=1024, max_partition_fetch_bytes=1024)
    try:
        tps = list(start)
        consumer.assign(tps)
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1, update_offsets=False)
            if all(consumer.highwater(tp) is not None for tp in tps):
                break
        missing = sorted(f"{tp.topic}[{tp.partition}]" for tp in tps if consumer.highwater(tp) is None)
        if missing:
            raise TimeoutError(f"no fetch response for {', '.join(missing)} within {timeout}s")
        return {tp: consumer.highwater(tp) for tp in tps}
    finally:
        consumer.close(autocommit=False)


def consumer_lag(settings: CoreSettings, group: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Messages not yet committed by `group`, per partition: fetch high watermark minus committed offset."""
    consumer = KafkaConsumer(**client_options(settings, "lag"), group_id=group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        committed = {tp: consumer.committed(tp) or 0 for tp in tps}
    finally:
        consumer.close(autocommit=False)
    high = high_watermarks(settings, committed, timeout)
    return {tp.partition: max(0, high[tp] - committed[tp]) for tp in tps}


def _admin(settings: CoreSettings) -> KafkaAdminClient:
    return KafkaAdminClient(**client_options(settings, "admin"))


def ensure_topics(settings: CoreSettings) -> list[tuple[str, str]]:
    """Create every topic of schemas/topics.yaml that is missing; grow partitions that are too few."""
    wanted = contracts.topics(settings.topic_prefix)
    admin = _admin(settings)
    actions: list[tuple[str, str]] = []
    try:
        existing = partition_counts(settings, admin)
        for key, topic in wanted.items():
            have = existing.get(topic.name)
            if have is None:
                replicas, durability = kafka_security.topic_durability(key)
                try:
                    admin.create_topics([NewTopic(topic.name, topic.partitions, replicas, topic_configs={
                        "retention.ms": str(topic.retention_ms), **durability})])
                    actions.append((topic.name, f"created with {topic.partitions} partitions"))
                except TopicAlreadyExistsError:
                    actions.append((topic.name, "exists"))
            elif have < topic.partitions:
                admin.create_partitions({topic.name: NewPartitions(topic.partitions)})
                actions.append((topic.name, f"partitions {have} -> {topic.partitions}"))
            else:
                actions.append((topic.name, "exists"))
    finally:
        admin.close()
    return actions


def partition_counts(settings: CoreSettings, admin: KafkaAdminClient | None = None) -> dict[str, int]:
    own = admin is None
    admin = admin or _admin(settings)
    try:
        names = [n for n in admin.list_topics() if not n.startswith("__")]
        if not names:
            return {}
        return {t.get("name") or t.get("topic"): len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        if own:
            admin.close()


def wait_for_broker(settings: CoreSettings, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    quiet = logging.getLogger("kafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # refused connections while waiting are expected, not errors
    try:
        while time.monotonic() < deadline:
            try:
                KafkaAdminClient(**client_options(settings, "probe"), request_timeout_ms=3000).close()
                return
            except KafkaError as exc:  # NoBrokersAvailable and friends
                last = exc
                time.sleep(0.3)
    finally:
        quiet.setLevel(level)
    raise TimeoutError(f"Kafka at {settings.kafka_bootstrap} not reachable in {timeout}s: {last}")
