"""Scheduler runs against PostgreSQL and the Tansu broker: publish, mark only what Kafka acknowledged,
two schedulers at once never pick the same URL."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from kafka.errors import KafkaTimeoutError

from animerec.common import config, kafka
from animerec.common.cli import main as animerec
from animerec.common.kafka import EventConsumer, EventProducer, topic_name
from animerec.scheduler import scheduler
from animerec.scheduler.settings import SchedulerSettings

pytestmark = pytest.mark.integration

A = "anime_schedule"


def u(n: int) -> str:
    return f"https://myanimelist.net/anime/{n}"


@pytest.fixture()
def core(core_settings, sched_db, unique):
    settings = dataclasses.replace(core_settings, postgres_url=sched_db.url, topic_prefix=f"t{unique}.")
    kafka.ensure_topics(settings)
    return settings


def drain(settings, topic, want, unique, timeout=30):
    got = []
    with EventConsumer(settings, f"g-{unique}", [topic]) as consumer:
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            got += consumer.poll(300)
        # a little longer, to catch messages beyond `want`
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            got += consumer.poll(200)
    return got


def test_run_publishes_keyed_messages_and_marks_scheduled(core, sched_db, unique):
    t0 = sched_db.T0
    for n in range(1, 8):
        sched_db.add(A, u(n), created_at=t0 - timedelta(hours=n))
    sched_db.add(A, u(100), last_scheduled_date=t0 - timedelta(days=30), scheduled_count=3,
                 last_crawled_date=t0 - timedelta(days=29))
    settings = config.load(SchedulerSettings, {}, source="jikan")
    result = scheduler.run(core, settings, "anime", limit=5, now=t0)
    assert result.ok and result.picked == [u(7), u(6), u(5), u(4), u(3)]
    assert result.scheduled == result.picked
    events = drain(core, topic_name(core, "schedule_anime"), 5, unique)
    assert sorted(e.key for e in events) == sorted(result.picked)
    assert all(e.error is None and e.schema == "schedule_request" for e in events)
    assert {e.value["url"] for e in events} == set(result.picked)
    assert all(e.value["kind"] == "anime" and e.value["source"] == "jikan" and e.value["attempt"] == 1
               and e.value["scheduled_at"] == "2026-01-10T12:00:00.000Z" for e in events)
    for n in (3, 4, 5, 6, 7):
        r = sched_db.row(A, u(n))
        assert r["last_scheduled_date"] == t0 and r["scheduled_count"] == 1
    assert sched_db.row(A, u(1))["last_scheduled_date"] is None
    assert result.backlog["in_flight"] == 5 and result.backlog["never_scheduled"] == 2

    # the next run takes the rest; the in-flight ones are skipped; attempt counts past schedulings
    later = t0 + timedelta(minutes=5)
    second = scheduler.run(core, settings, "anime", limit=50, now=later)
    assert second.picked == [u(2), u(1), u(100)]
    third = scheduler.run(core, settings, "anime", limit=50, now=later)
    assert third.picked == []
    events = drain(core, topic_name(core, "schedule_anime"), 8, unique + "b")
    assert {e.value["url"]: e.value["attempt"] for e in events}[u(100)] == 4


class FlakyProducer:
    """A real producer that refuses some URLs, as if Kafka did not acknowledge them."""

    def __init__(self, settings, refuse):
        self.inner = EventProducer(settings, "test")
        self.refuse = refuse

    def send(self, topic, msg, *, key, schema=None):
        future = self.inner.send(topic, msg, key=key, schema=schema)
        if msg["url"] in self.refuse:
            class Failed:
                def get(self, timeout=None):
                    raise KafkaTimeoutError("not acknowledged")
            return Failed()
        return future

    def flush(self, timeout=None):
        self.inner.flush(timeout)

    def close(self):
        self.inner.close()


def test_only_acknowledged_urls_are_marked(core, sched_db):
    t0 = sched_db.T0
    for n in range(1, 5):
        sched_db.add(A, u(n), created_at=t0 - timedelta(hours=n))
    producer = FlakyProducer(core, refuse={u(2), u(3)})
    try:
        result = scheduler.run(core, config.load(SchedulerSettings, {}), "anime", now=t0, producer=producer)
    finally:
        producer.close()
    assert not result.ok and set(result.failed) == {u(2), u(3)}
    assert "not acknowledged" in result.failed[u(2)]
    assert sorted(result.scheduled) == [u(1), u(4)]
    assert sched_db.row(A, u(2))["last_scheduled_date"] is None
    assert sched_db.row(A, u(1))["last_scheduled_date"] == t0
    # the refused ones are first in line next time
    again = scheduler.run(core, config.load(SchedulerSettings, {}), "anime", now=t0, dry_run=True)
    assert again.picked == [u(3), u(2)]


class SlowProducer(EventProducer):
    """Holds the transaction (and its row locks) open while the other scheduler runs."""

    def flush(self, timeout=None):
        time.sleep(0.5)
        super().flush(timeout)


def test_two_schedulers_at_once_never_pick_the_same_url(core, sched_db):
    t0 = sched_db.T0
    for n in range(1, 201):
        sched_db.add(A, u(n), created_at=t0 - timedelta(seconds=n))
    settings = config.load(SchedulerSettings, {})
    results = {}
    start = threading.Barrier(2)

    def one(name):
        producer = SlowProducer(core, name)
        try:
            start.wait()
            results[name] = scheduler.run(core, settings, "anime", limit=70, now=t0, producer=producer)
        finally:
            producer.close()

    threads = [threading.Thread(target=one, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = results["a"].scheduled, results["b"].scheduled
    assert len(a) == 70 and len(b) == 70
    assert not set(a) & set(b)
    # between them they took the 140 oldest-discovered URLs, each marked exactly once
    assert set(a) | set(b) == {u(n) for n in range(61, 201)}
    assert all(sched_db.row(A, url)["scheduled_count"] == 1 for url in a + b)


def test_cli_dry_run_push_and_bad_config(core, sched_db, pushgateway):
    sched_db.add(A, u(1))
    sched_db.add(A, u(2), last_scheduled_date=datetime.now(UTC) - timedelta(hours=1))  # in flight
    env = {"ANIMEREC_POSTGRES_URL": core.postgres_url, "ANIMEREC_KAFKA_BOOTSTRAP": core.kafka_bootstrap,
           "ANIMEREC_TOPIC_PREFIX": core.topic_prefix, "ANIMEREC_LOG_FORMAT": "text"}
    runner = CliRunner()
    out = runner.invoke(animerec, ["schedule", "--kind", "anime", "--dry-run"], env=env)
    assert out.exit_code == 0, out.output
    assert out.stdout.split() == [u(1)]
    assert sched_db.row(A, u(1))["last_scheduled_date"] is None
    pushed = {"ANIMEREC_SCHEDULER_PUSHGATEWAY": pushgateway.address, "ANIMEREC_METRICS_PUSH_LABELS": "release=r1"}
    out = runner.invoke(animerec, ["schedule", "--kind", "anime", "--limit", "1"], env={**env, **pushed})
    assert out.exit_code == 0, out.output
    assert sched_db.row(A, u(1))["scheduled_count"] == 1
    [(_, path, body)] = pushgateway.pushes
    assert pushgateway.group(path) == {"job": "animerec-scheduler", "release": "r1", "kind": "anime"}
    assert "animerec_scheduler_" in body
    bad = runner.invoke(animerec, ["schedule", "--kind", "anime"], env={**env, "ANIMEREC_SCHEDULER_MAX_ERRORS": "x"})
    assert bad.exit_code != 0 and "ANIMEREC_SCHEDULER_MAX_ERRORS: expected an integer" in bad.output
    bad = runner.invoke(animerec, ["schedule", "--kind", "anime"], env={**env, **pushed,
                                                                        "ANIMEREC_METRICS_PUSH_LABELS": "release"})
    assert bad.exit_code == 1 and "ANIMEREC_METRICS_PUSH_LABELS: bad Pushgateway label 'release'" in bad.output
    bad = runner.invoke(animerec, ["schedule", "--kind", "manga"], env=env)
    assert bad.exit_code == 2 and "manga" in bad.output
