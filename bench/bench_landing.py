"""Landing writer throughput, and each of its parts against its raw baseline, all in one run.

- the writer (Kafka -> Beam DirectRunner -> landing tables) vs a raw COPY of the same rows;
- the Beam Kafka source (splittable DoFn, librdkafka) vs a bare confluent-kafka consumer of the same offsets,
  and that bare consumer vs a bare kafka-python one (why the source reads with librdkafka);
- decode + validate of one message vs json.loads of the same bytes.

The writer lands into a fresh PostgreSQL database on the local server, from a Tansu broker started for the
benchmark; full runs alternate three COPY and three writer runs and compare medians. quick: 5k messages, one
round; full: 50k.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import apache_beam as beam
import confluent_kafka
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from kafka import KafkaConsumer, TopicPartition
from run import Row

from animerec.common import config, db, kafka, migrate
from animerec.devkit import eventworld as world
from animerec.devkit import tansu
from animerec.devkit.processes import stop
from animerec.landing.beam_job import allowed_schemas
from animerec.landing.config import settings as landing_settings
from animerec.landing.source import PartitionRange, ReadPartitions, reader_config
from animerec.landing.tables import landing_tables
from animerec.landing.validate import Record, check
from animerec.landing.writer import Writer

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_db() -> str:
    url = db.with_database(PG_SERVER, f"animerec_bench_land_{uuid.uuid4().hex[:8]}")
    db.ensure_database(url)
    migrate.apply(url)
    return url


def copy_baseline(messages: list[tuple[str, dict]], url: str) -> float:
    tables = landing_tables()
    rows: dict[str, list[tuple]] = {}
    for offset, (_, m) in enumerate(messages):
        rows.setdefault(m["item_type"], []).append(tables[m["item_type"]].row(m, "bench", 0, offset))
    started = time.perf_counter()
    with db.connect(url) as conn:
        for schema, batch in rows.items():
            spec = tables[schema]
            statement = f"COPY landing.{spec.table} ({', '.join(spec.columns)}) FROM STDIN"
            with conn.cursor() as cur, cur.copy(statement) as cp:
                for row in batch:
                    cp.write_row(row)
        conn.commit()
    return time.perf_counter() - started


def partitions(core: config.CoreSettings, topic: str) -> list[TopicPartition]:
    consumer = KafkaConsumer(**kafka.client_options(core, "bench"))
    try:
        return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    finally:
        consumer.close()


def bare_read(core: config.CoreSettings, tps: list[TopicPartition], high: dict[TopicPartition, int]) -> float:
    """A confluent-kafka consumer reading every partition from 0 to its high watermark: the floor for the source."""
    consumer = confluent_kafka.Consumer(reader_config(core, "bench-bare"))
    consumer.assign([confluent_kafka.TopicPartition(tp.topic, tp.partition, 0) for tp in tps])
    started = time.perf_counter()
    left = sum(high.values())
    while left > 0:
        left -= sum(1 for m in consumer.consume(5000, 0.5) if m.error() is None)
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def bare_read_kafka_python(core: config.CoreSettings, tps: list[TopicPartition],
                           high: dict[TopicPartition, int]) -> float:
    """The same read with kafka-python (the writer's group member and the source before librdkafka)."""
    consumer = KafkaConsumer(**kafka.client_options(core, "bench-bare"), enable_auto_commit=False,
                             max_poll_records=5000)
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, 0)
    started = time.perf_counter()
    left = sum(high.values())
    while left > 0:
        for records in consumer.poll(timeout_ms=500).values():
            left -= len(records)
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


class Count(beam.DoFn):
    def __init__(self) -> None:
        self.records = Metrics.counter("bench", "records")

    def process(self, chunk):
        self.records.inc(len(chunk))


def beam_read(core: config.CoreSettings, tps: list[TopicPartition], high: dict[TopicPartition, int]) -> float:
    """The writer's source alone: Create(ranges) | ReadPartitions on DirectRunner, pipeline start included."""
    ranges = [PartitionRange(tp.topic, tp.partition, 0, high[tp]) for tp in tps]
    started = time.perf_counter()
    pipeline = beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner", direct_num_workers=1))
    _ = pipeline | beam.Create(ranges) | beam.ParDo(ReadPartitions(core)) | beam.ParDo(Count())
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - started
    (counter,) = result.metrics().query(MetricsFilter().with_name("records"))["counters"]
    assert counter.committed == sum(high.values()), (counter.committed, sum(high.values()))
    return seconds


def validation(core: config.CoreSettings, messages: list[tuple[str, dict]]) -> tuple[float, float]:
    import json
    topic = kafka.topic_name(core, "ingest")
    raws = [json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode() for _, m in messages]
    records = [Record(topic, 0, i, None, raw, m["item_type"]) for i, (raw, (_, m)) in enumerate(zip(raws, messages,
                                                                                                   strict=True))]
    allowed, tables = allowed_schemas(core.topic_prefix, ["ingest"]), landing_tables()
    check(records[0], allowed, tables)  # compile the validators outside the timing
    loads_s, check_s = [], []
    for _ in range(3):  # each pass is a fraction of a second: the best of three, taken alternately
        started = time.perf_counter()
        for raw in raws:
            json.loads(raw)
        loads_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        bad = sum(1 for r in records if type(check(r, allowed, tables)).__name__ != "Landed")
        check_s.append(time.perf_counter() - started)
        assert bad == 0, f"{bad} benchmark messages rejected"
    return min(check_s), min(loads_s)


def truncate(url: str) -> None:
    """Empty every landing table (between rounds: the next round lands into empty tables, as the first did)."""
    names = ", ".join(f"landing.{spec.table}" for spec in landing_tables().values())
    with db.connect(url) as conn:
        conn.execute(f"TRUNCATE {names}, landing.rejects")
        conn.commit()


def land(core: config.CoreSettings, group: str, n: int) -> tuple[float, float, int]:
    """(seconds in batches, wall seconds including the group join, batches) of one writer draining the topic."""
    writer = Writer(core, landing_settings(group=group, read_timeout_s=30))
    started = time.perf_counter()
    totals = writer.run(once=True)
    wall = time.perf_counter() - started
    assert totals.landed == n, f"landed {totals.landed} of {n}"
    return totals.busy_s, wall, totals.batches


def run(quick: bool) -> list[Row]:
    n = 5_000 if quick else 50_000
    rounds = 1 if quick else 3
    messages = world.messages(world.sized(n))[:n]
    port = tansu.free_port()
    broker = tansu.start(port)
    urls = [fresh_db(), fresh_db()]
    try:
        core = config.core({}, kafka_bootstrap=f"127.0.0.1:{port}", postgres_url=urls[0],
                           kafka_session_timeout_ms=6000, topic_prefix="bench.")
        kafka.wait_for_broker(core, 30)
        kafka.ensure_topics(core)
        topic = kafka.topic_name(core, "ingest")
        with kafka.EventProducer(core, "bench") as producer:
            producer.send_all(topic, messages)
        tps = partitions(core, topic)
        high = kafka.high_watermarks(core, {tp: 0 for tp in tps})
        bare_s = bare_read(core, tps, high)
        bare_kp_s = bare_read_kafka_python(core, tps, high)
        beam_s = beam_read(core, tps, high)
        check_s, loads_s = validation(core, messages)
        # The shared machine's load moves both figures by 2x from one second to the next: rounds alternate a
        # COPY and a writer run (a new group reads the topic again, into emptied tables), medians are compared.
        copies, runs, loads = [], [], []
        for i in range(rounds):
            if i:
                truncate(urls[0])
                truncate(urls[1])
            copies.append(copy_baseline(messages, urls[1]))
            runs.append(land(core, f"bench-landing-{i}", n))
            loads.append(os.getloadavg()[0])
    finally:
        stop(broker, 10)
        for url in urls:
            db.drop_database(url)
    copy_rate = statistics.median(n / s for s in copies)
    busy_rates = [n / busy for busy, _, _ in runs]
    wall_rates = [n / wall for _, wall, _ in runs]
    spread = (f"median of {rounds} runs alternating with the COPY (writer {min(busy_rates):,.0f}-"
              f"{max(busy_rates):,.0f} msg/s, COPY {min(n / s for s in copies):,.0f}-{max(n / s for s in copies):,.0f}"
              f" rows/s, load {min(loads):.1f}-{max(loads):.1f})") if rounds > 1 else f"one run, load {loads[0]:.1f}"
    return [
        Row("landing writer, messages/s in batches", statistics.median(busy_rates), "msg/s",
            "raw COPY of the same rows", copy_rate,
            note=f"{n} messages, {runs[0][2]} Beam batch(es) (DirectRunner): bounds, read, validate, COPY, offset "
                 f"commit; {spread}", higher_is_better=True),
        Row("landing writer, messages/s wall (incl. group join)", statistics.median(wall_rates), "msg/s",
            "raw COPY of the same rows", copy_rate, note="wall time includes the consumer-group join",
            higher_is_better=True),
        Row("landing Kafka source (splittable DoFn, librdkafka), messages/s", n / beam_s, "msg/s",
            "bare confluent-kafka consumer, same offsets", n / bare_s,
            note="Beam pipeline start included; records built (key, value, schema header)", higher_is_better=True),
        Row("bare confluent-kafka consumer, messages/s", n / bare_s, "msg/s",
            "bare kafka-python consumer, same offsets", n / bare_kp_s,
            note="the client inside the source vs the one it replaced", higher_is_better=True),
        Row("landing decode + validate, messages/s", n / check_s, "msg/s", "json.loads of the same bytes",
            n / loads_s, note="orjson, duplicate-key and NUL scan, compiled schema check, row build; best of 3 each",
            higher_is_better=True),
    ]
