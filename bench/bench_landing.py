"""Landing writer throughput (Kafka -> Beam DirectRunner -> landing tables) vs a raw COPY of the same rows.

Both land into fresh PostgreSQL databases on the local server; the writer reads from a Tansu broker
started for the benchmark. quick: 5k messages, full: 50k.
"""

from __future__ import annotations

import time
import uuid

from run import Row

from animerec.common import config, db, kafka, migrate
from animerec.devkit import tansu
from animerec.landing import world
from animerec.landing.config import settings as landing_settings
from animerec.landing.tables import landing_tables
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


def run(quick: bool) -> list[Row]:
    n = 5_000 if quick else 50_000
    messages = world.messages(world.sized(n))[:n]
    port = tansu.free_port()
    broker = tansu.start(port)
    urls = [fresh_db(), fresh_db()]
    try:
        core = config.core({}, kafka_bootstrap=f"127.0.0.1:{port}", postgres_url=urls[0],
                           kafka_session_timeout_ms=6000, topic_prefix="bench.")
        kafka.wait_for_broker(core, 30)
        kafka.ensure_topics(core)
        with kafka.EventProducer(core, "bench") as producer:
            producer.send_all(kafka.topic_name(core, "ingest"), messages)
        writer = Writer(core, landing_settings(group="bench-landing", read_timeout_s=30))
        started = time.perf_counter()
        totals = writer.run(once=True)
        wall = time.perf_counter() - started
        assert totals.landed == n, f"landed {totals.landed} of {n}"
        copy_s = copy_baseline(messages, urls[1])
    finally:
        broker.terminate()
        broker.wait(10)
        for url in urls:
            db.drop_database(url)
    return [
        Row("landing writer, messages/s in batches", n / totals.busy_s, "msg/s", "raw COPY of the same rows",
            n / copy_s, note=f"{n} messages, {totals.batches} Beam batches (DirectRunner)", higher_is_better=True),
        Row("landing writer, messages/s wall (incl. group join)", n / wall, "msg/s", "raw COPY of the same rows",
            n / copy_s, note="wall time includes the consumer-group join", higher_is_better=True),
    ]
