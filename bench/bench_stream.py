"""Streaming job throughput (PyFlink, bounded run over Tansu) against a bare Kafka consumer reading the same events,
and how soon a like shows in the live metrics table (target: a minute) against a bare consumer seeing it.

The job's rate is marginal: two bounded runs, over a tenth of the events and over all of them, so the fixed cost
of starting the mini-cluster and the Python workers cancels out: (n - n/10) / (t_all - t_tenth). The baseline
reads the same events with kafka-python and decodes each one with json.loads. quick: 100k events, full: 500k
(at 20k the difference between the two runs was within the start-up's own spread: 39 s and 39 s). Each run must
have counted every event it was given (processed.stream_event_counts), or the figure means nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from run import Row

from animerec.common import config, db, kafka, migrate
from animerec.devkit import tansu
from animerec.devkit.processes import stop

ROOT = Path(__file__).resolve().parents[1]
STREAM_PY = ROOT / ".venv-stream" / "bin" / "python"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def produce(bootstrap: str, prefix: str, n: int) -> None:
    out = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    t0 = datetime.now(UTC) - timedelta(hours=2)
    for i in range(n):
        at = (t0 + timedelta(milliseconds=300 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 2:
            doc = {"event_id": uuid.uuid4().hex, "user_name": f"u{i % 997}", "anime_id": 1 + i % 500,
                   "action": ("like", "click", "dislike")[i % 3], "created_at": at,
                   "context": {"model_version": "v1", "source": "model"}}
            out.send(prefix + "feedback.events", key=doc["user_name"].encode(), value=json.dumps(doc).encode())
        else:
            doc = {"item_type": "animelist_entry", "user_name": f"u{i}", "anime_id": 1 + i % 500,
                   "status": "completed", "crawled_at": at, "last_interaction_date": at}
            out.send(prefix + "ingest.items", key=doc["user_name"].encode(), value=json.dumps(doc).encode())
    out.flush()
    out.close()


def assigned(bootstrap: str, prefix: str, topics: tuple[str, ...]) -> KafkaConsumer:
    """A consumer on every partition of the topics, without a group (no join to wait for)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=20000)
    consumer.assign([TopicPartition(prefix + t, p) for t in topics
                     for p in sorted(consumer.partitions_for_topic(prefix + t) or ())])
    return consumer


def bare_consumer(bootstrap: str, prefix: str, n: int) -> float:
    consumer = assigned(bootstrap, prefix, ("feedback.events", "ingest.items"))
    consumer.seek_to_beginning()
    started = time.perf_counter()
    for seen, message in enumerate(consumer, start=1):
        json.loads(message.value)
        if seen >= n:
            break
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def like(bootstrap: str, prefix: str) -> None:
    out = KafkaProducer(bootstrap_servers=bootstrap)
    doc = {"event_id": uuid.uuid4().hex, "user_name": "bench", "anime_id": 1, "action": "like",
           "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "context": {"model_version": "latency", "source": "model", "verified": True}}
    out.send(prefix + "feedback.events", key=b"bench", value=json.dumps(doc).encode())
    out.flush()
    out.close()


def likes_counted(url: str) -> int:
    with db.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(likes), 0) FROM processed.stream_online_metrics "
                           "WHERE model_version = 'latency'").fetchone()
    return int(row[0]) if row else 0


def events_counted(url: str) -> int:
    with db.connect(url) as conn:
        row = conn.execute("SELECT coalesce(sum(events), 0) FROM processed.stream_event_counts").fetchone()
    return int(row[0]) if row else 0


def live_latency(env: dict[str, str], url: str, bootstrap: str, prefix: str) -> tuple[float, float]:
    """Seconds from producing a like to seeing it in processed.stream_online_metrics (the job warmed up by a first
    like), and for a bare consumer to receive it."""
    job = subprocess.Popen([str(STREAM_PY), "-m", "animerec.common.cli", "stream", "run", "--fresh"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    try:
        like(bootstrap, prefix)
        deadline = time.monotonic() + 900
        while likes_counted(url) < 1:
            if time.monotonic() > deadline or job.poll() is not None:
                raise RuntimeError("the streaming job never counted the warm-up like")
            time.sleep(0.5)
        started = time.perf_counter()
        like(bootstrap, prefix)
        while likes_counted(url) < 2:
            if time.perf_counter() - started > 300:
                raise RuntimeError("the like did not reach the live metrics within 5 minutes")
            time.sleep(0.1)
        live = time.perf_counter() - started
        consumer = assigned(bootstrap, prefix, ("feedback.events",))
        core = config.core({}, kafka_bootstrap=bootstrap)
        ends = kafka.high_watermarks(core, dict.fromkeys(consumer.assignment(), 0))
        for tp, end in ends.items():  # the fetch high watermark: Tansu's ListOffsets (seek_to_end) is off
            consumer.seek(tp, end)
        started = time.perf_counter()
        like(bootstrap, prefix)
        bare = float("nan")
        for _ in consumer:
            bare = time.perf_counter() - started
            break
        consumer.close()
        return live, bare
    finally:
        stop(job, 30)  # SIGTERM: the job takes its JVM and Python workers down with it


def job_run(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([str(STREAM_PY), "-m", "animerec.common.cli", "stream", "run", "--bounded", "--fresh"], env=env,
                   check=True, capture_output=True, cwd=ROOT, timeout=1800)
    return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    n = 100_000 if quick else 500_000
    port = tansu.free_port()
    broker = tansu.start(port)
    bootstrap = f"127.0.0.1:{port}"
    url = db.with_database(PG_SERVER, f"animerec_bench_stream_{uuid.uuid4().hex[:8]}")
    try:
        core = config.core({}, kafka_bootstrap=bootstrap)
        kafka.wait_for_broker(core, timeout=30)
        db.ensure_database(url)
        migrate.apply(url)
        times = {}
        for size in (n // 10, n):
            prefix = f"b{uuid.uuid4().hex[:6]}."
            kafka.ensure_topics(config.core({}, kafka_bootstrap=bootstrap, topic_prefix=prefix))
            produce(bootstrap, prefix, size)
            env = {**os.environ, "ANIMEREC_KAFKA_BOOTSTRAP": bootstrap, "ANIMEREC_TOPIC_PREFIX": prefix,
                   "ANIMEREC_POSTGRES_URL": url, "ANIMEREC_REDIS_URL": "redis://127.0.0.1:6379/15",
                   "ANIMEREC_REDIS_PREFIX": f"bench-{prefix}", "ANIMEREC_STREAM_GROUP_ID": f"bench-{prefix}",
                   "ANIMEREC_STREAM_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="bench-stream-"),
                   "ANIMEREC_STREAM_RESTART_ATTEMPTS": "0", "ANIMEREC_METRICS_PORT": "0"}
            with db.connect(url) as conn:
                conn.execute("TRUNCATE processed.stream_event_counts")
                conn.commit()
            times[size] = job_run(env)
            counted = events_counted(url)
            if counted != size:
                raise RuntimeError(f"the bounded run counted {counted} of {size} events")
            if size == n:
                bare = bare_consumer(bootstrap, prefix, n)
                seen_live, seen_bare = live_latency(env, url, bootstrap, prefix)
        if times[n] - times[n // 10] < 5:
            raise RuntimeError(f"runs of {n // 10} and {n} events took {times[n // 10]:.1f} s and {times[n]:.1f} s: "
                               "the difference is within start-up noise, use more events")
        marginal = (n - n // 10) / (times[n] - times[n // 10])
        return [Row("stream job events/s (marginal, bounded run)", marginal, "events/s",
                    "bare kafka-python consumer + json.loads", n / bare,
                    note=f"{n} events; whole runs {times[n // 10]:.0f} s ({n // 10}) and {times[n]:.0f} s ({n}), "
                         "start-up included there", higher_is_better=True),
                Row("like -> live metrics table (running job)", seen_live, "s", "bare consumer receives it", seen_bare,
                    note="target: within a minute (JDBC upsert flushed every second)")]
    finally:
        stop(broker, 10)
        db.drop_database(url)
