"""Fixtures of the landing writer tests: a private topic prefix per test, produce helpers."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer

from animerec.common import config, db
from animerec.common.kafka import EventProducer, ensure_topics, topic_name
from animerec.landing.config import LandingSettings
from animerec.landing.config import settings as landing_settings

PROVENANCE_TABLES = ("anime_info", "anime_stats", "anime_review", "anime_recommendation", "anime_related",
                     "anime_picture", "anime_club", "profile", "animelist_entry", "favorite", "friend", "activity",
                     "feedback", "rejects")


@pytest.fixture()
def land_core(core_settings, unique) -> config.CoreSettings:
    """CoreSettings whose topics are private to this test (prefix t<unique>.), created on the broker."""
    core = config.core({}, kafka_bootstrap=core_settings.kafka_bootstrap, postgres_url=core_settings.postgres_url,
                       redis_url=core_settings.redis_url, kafka_session_timeout_ms=6000,
                       topic_prefix=f"t{unique}.")
    ensure_topics(core)
    return core


@pytest.fixture()
def land_settings(unique) -> LandingSettings:
    return landing_settings(group=f"land-{unique}", read_timeout_s=20, idle_sleep_s=0.2)


def produce(core, items, key="ingest"):
    with EventProducer(core, "test") as producer:
        return producer.send_all(topic_name(core, key), items, schema="feedback" if key == "feedback" else None)


def produce_raw(core, values, key="ingest", headers=None):
    """Send bytes as they are (no schema check): how poison reaches the topic."""
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap.split(","))
    for i, value in enumerate(values):
        producer.send(topic_name(core, key), key=f"poison{i}".encode(), value=value, headers=headers or [])
    producer.flush(30)
    producer.close()


def landed_counts(core) -> dict[str, int]:
    """Rows per landing table that came from this test's topics."""
    with db.connect(core.postgres_url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM landing.{t} WHERE kafka_topic LIKE %s",
                                (core.topic_prefix + "%",)).fetchone()[0] for t in PROVENANCE_TABLES}


def distinct_provenance(core, table) -> int:
    with db.connect(core.postgres_url) as conn:
        return conn.execute(f"SELECT count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM landing.{table} "
                            "WHERE kafka_topic LIKE %s", (core.topic_prefix + "%",)).fetchone()[0]
