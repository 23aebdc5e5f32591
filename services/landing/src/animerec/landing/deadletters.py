"""Send the dead letters of landing.rejects once each, even across crashes.

landing.rejects is the outbox. A bundle commits its rejects as 'pending' with its landed rows. The sender,
one at a time across all replicas (a PostgreSQL advisory lock), then:

1. marks the pending rows 'sending' and commits, before it produces anything;
2. produces them (idempotent producer: no duplicates from the client's own retries) and waits for the acks;
3. marks them 'sent' and moves landing.dead_letter_cursor past the highest acknowledged offset, in one commit.

A crash after 1 leaves rows 'sending' whose letters may or may not be on the topic. Before sending those
again, the sender reads the dead-letter topic from the cursor to the high watermark and looks for their ids
(the deterministic `animerec-dead-letter-id` header): what is there is marked 'sent', the rest is sent. Kafka
transactions are not used: they would need a broker that honours aborts (Tansu does not), and the lookup is
correct on any broker.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition

from animerec.common.config import CoreSettings
from animerec.common.kafka import H_DEAD_LETTER_ID, DeadLetter, EventProducer, client_options, topic_name

log = logging.getLogger(__name__)
LOCK_KEY = 0x616E_6C64   # advisory lock id of the landing dead-letter sender ("anld")
BATCH = 500


def _letter(row: tuple) -> DeadLetter:
    (stage, error, payload, key, topic, partition, offset, size, digest, letter_id, failed_at) = row
    message = {
        "stage": stage, "error": error, "payload": payload, "payload_bytes": size, "payload_sha256": digest,
        "payload_truncated": size is None or len(payload.encode("utf-8")) != size,
        "source_topic": topic, "source_partition": partition, "source_offset": offset, "key": key, "url": None,
        "failed_at": failed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if size is None or digest is None:
        message = {k: v for k, v in message.items() if not k.startswith("payload_") or k == "payload"}
    return DeadLetter(letter_id, key, message)


class DeadLetterSender:
    def __init__(self, core: CoreSettings) -> None:
        self.core = core
        self.topic = topic_name(core, "deadletter")
        self._producer: EventProducer | None = None

    @property
    def producer(self) -> EventProducer:
        if self._producer is None:
            # The payload limit keeps letters far below this; the default 1 MB would refuse a large one.
            self._producer = EventProducer(self.core, "landing", enable_idempotence=True,
                                           max_request_size=4 * 1024 * 1024)
        return self._producer

    def send_pending(self, conn: psycopg.Connection) -> int:
        """Send every pending dead letter of landing.rejects; returns how many were sent now."""
        if conn.execute("SELECT EXISTS (SELECT 1 FROM landing.rejects "
                        "WHERE dead_letter_state IN ('pending', 'sending'))").fetchone()[0] is False:
            conn.commit()
            return 0
        conn.commit()
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        conn.commit()
        try:
            sent = 0
            while True:
                n = self._round(conn)
                if n is None:
                    return sent
                sent += n
        finally:
            conn.rollback()
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            conn.commit()

    def _round(self, conn: psycopg.Connection) -> int | None:
        rows = conn.execute(
            "SELECT id, dead_letter_state, stage, error, payload, message_key, kafka_topic, kafka_partition, "
            "kafka_offset, payload_bytes, payload_sha256, dead_letter_id, failed_at FROM landing.rejects "
            "WHERE dead_letter_state IN ('pending', 'sending') ORDER BY id LIMIT %s", (BATCH,)).fetchall()
        conn.commit()
        if not rows:
            return None
        uncertain = {r[11]: r[0] for r in rows if r[1] == "sending"}
        if uncertain:
            found = self._on_topic(conn, set(uncertain))
            conn.execute("UPDATE landing.rejects SET dead_letter_state = 'sent' WHERE id = ANY(%s)",
                         ([uncertain[i] for i in found],))
            conn.commit()
            log.info("dead letters of an interrupted send looked up on the topic",
                     extra={"uncertain": len(uncertain), "already_sent": len(found)})
            rows = [r for r in rows if r[11] not in found]
        if not rows:
            return 0
        ids = [r[0] for r in rows]
        conn.execute("UPDATE landing.rejects SET dead_letter_state = 'sending' WHERE id = ANY(%s)", (ids,))
        conn.execute("INSERT INTO landing.dead_letter_cursor VALUES (%s, 0, 0) ON CONFLICT DO NOTHING",
                     (self.topic,))
        conn.commit()
        futures = [self.producer.send_dead_letter(_letter((*r[2:11], r[11], r[12]))) for r in rows]
        self.producer.flush(60)
        acked = [f.get(60) for f in futures]   # raises on a refused send: the rows stay 'sending'
        _mark_sent(conn, ids, self.topic, acked)
        return len(rows)

    def _on_topic(self, conn: psycopg.Connection, wanted: set[str], timeout: float = 30.0) -> set[str]:
        """Which of the dead-letter ids are on the topic at or after the cursor."""
        cursors = dict(conn.execute("SELECT kafka_partition, next_offset FROM landing.dead_letter_cursor "
                                    "WHERE kafka_topic = %s", (self.topic,)).fetchall())
        conn.commit()
        consumer = KafkaConsumer(**client_options(self.core, "landing-dlq-lookup"), enable_auto_commit=False,
                                 auto_offset_reset="earliest")
        found: set[str] = set()
        try:
            tps = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or {0})]
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, cursors.get(tp.partition, 0))
            deadline = time.monotonic() + timeout
            done: set[TopicPartition] = set()
            while len(done) < len(tps):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"dead-letter lookup on {self.topic} did not reach the high watermark")
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        for key, value in record.headers or ():
                            if key == H_DEAD_LETTER_ID and value and value.decode("utf-8", "replace") in wanted:
                                found.add(value.decode())
                for tp in tps:
                    high = consumer.highwater(tp)
                    if high is not None and consumer.position(tp) >= high:
                        done.add(tp)
        finally:
            consumer.close(autocommit=False)
        return found

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()


def _mark_sent(conn: psycopg.Connection, ids: list[int], topic: str, acked: list[Any]) -> None:
    conn.execute("UPDATE landing.rejects SET dead_letter_state = 'sent' WHERE id = ANY(%s)", (ids,))
    high: dict[int, int] = {}
    for meta in acked:
        high[meta.partition] = max(high.get(meta.partition, -1), meta.offset)
    for partition, offset in high.items():
        conn.execute("INSERT INTO landing.dead_letter_cursor VALUES (%s, %s, %s) ON CONFLICT (kafka_topic, "
                     "kafka_partition) DO UPDATE SET next_offset = GREATEST(landing.dead_letter_cursor.next_offset, "
                     "EXCLUDED.next_offset)", (topic, partition, offset + 1))
    conn.commit()
