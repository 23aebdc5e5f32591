"""Scheduler throughput (URLs scheduled per second, one run over a filled table) against the raw rate
of producing the same schedule messages with the same producer, measured in the same run.

Needs PostgreSQL (ANIMEREC_TEST_POSTGRES_URL, default the local server); starts its own Tansu broker.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from run import Row

from animerec.common import config, db, kafka, migrate
from animerec.common.kafka import EventProducer
from animerec.devkit import tansu
from animerec.devkit.fixtures import PG_SERVER
from animerec.devkit.processes import stop
from animerec.scheduler import scheduler, store
from animerec.scheduler.settings import SchedulerSettings


def _fill(url: str, n: int, now: datetime) -> None:
    # A realistic mix: a fifth never scheduled, the rest crawled at various ages, some failing.
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY anime_schedule (url, last_scheduled_date, last_crawled_date, last_inspected_date, "
                      "inspected_count, error_count, last_error_date) FROM STDIN") as copy:
            for i in range(n):
                if i % 5 == 0:
                    copy.write_row((f"https://myanimelist.net/anime/{i + 1}", None, None, now, i % 7, 0, None))
                else:
                    crawled = now - timedelta(hours=i % 1000 + 1)
                    errors = 1 if i % 17 == 0 else 0
                    copy.write_row((f"https://myanimelist.net/anime/{i + 1}", crawled - timedelta(minutes=5), crawled,
                                    now - timedelta(minutes=i % 300), i % 11, errors,
                                    crawled - timedelta(days=1) if errors else None))
        conn.commit()


def run(quick: bool) -> list[Row]:
    n = 2_000 if quick else 50_000
    port = tansu.free_port()
    broker = tansu.start(port)
    url = db.with_database(PG_SERVER, f"animerec_bench_{uuid.uuid4().hex[:8]}")
    try:
        core = config.core({}, kafka_bootstrap=f"127.0.0.1:{port}", postgres_url=url, log_level="WARNING")
        kafka.wait_for_broker(core)
        db.ensure_database(url)
        migrate.apply(url)
        now = datetime.now(UTC)
        _fill(url, n, now)
        settings = config.load(SchedulerSettings, {})
        # Baseline: the same messages straight through the same producer, no selection, locking or marking.
        base_core = dataclasses.replace(core, topic_prefix="base.")
        kafka.ensure_topics(base_core)
        kafka.ensure_topics(core)
        messages = [store.message(store.Request("anime", f"https://myanimelist.net/anime/{i + 1}", "mal"), now)
                    for i in range(n)]
        with EventProducer(base_core, "bench") as producer:
            producer.send_all(store.topic(base_core, "anime"), [(m["url"], m) for m in messages[:100]],
                               schema=store.SCHEMA)
            started = time.perf_counter()
            producer.send_all(store.topic(base_core, "anime"), [(m["url"], m) for m in messages],
                               schema=store.SCHEMA)
            raw = time.perf_counter() - started
        with EventProducer(core, "bench") as producer:
            started = time.perf_counter()
            result = scheduler.run(core, settings, "anime", limit=n, now=now, producer=producer)
            took = time.perf_counter() - started
        assert result.ok, result.failed
        scheduled = len(result.scheduled)
        return [Row("scheduler run (policy select, lock, publish, mark)", scheduled / took, "URLs/s",
                    "raw produce of the same messages", n / raw,
                    note=f"{scheduled} of {n} URLs eligible and scheduled in one run", higher_is_better=True)]
    finally:
        stop(broker, 10)
        db.drop_database(url)
