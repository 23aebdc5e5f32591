"""Kafka messages -> job records: valid events, every poison class, and what is not a trend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animerec.common import config
from animerec.common.kafka_security import KafkaSecuritySettings
from animerec.stream import events
from animerec.stream.job import _interval, jdbc, latest_checkpoint
from animerec.stream.kafka_props import java_properties
from animerec.stream.settings import StreamSettings

S = config.load(StreamSettings, {})
NOW = events.parse_time("2026-12-01T12:00:00Z")
assert NOW is not None


def fb(**over: object) -> bytes:
    doc = {"event_id": "0a1b2c3d", "user_name": "alice", "anime_id": 5114, "action": "like",
           "context": {"model_version": "v7", "source": "fold_in", "verified": True},
           "created_at": "2026-12-01T11:59:00Z"}
    doc.update(over)
    return json.dumps(doc).encode()


def item(**over: object) -> bytes:
    doc = {"item_type": "animelist_entry", "user_name": "bob", "anime_id": 1, "status": "completed",
           "crawled_at": "2026-12-01T11:00:00Z", "last_interaction_date": "2026-12-01T09:00:00Z"}
    doc.update(over)
    return json.dumps(doc).encode()


def test_feedback_event_carries_version_source_and_weight() -> None:
    rec = events.parse(events.FEEDBACK, fb(), S, NOW)
    assert rec == events.Record("feedback", 5114, S.weight_like, NOW - 60_000, "like", "v7", "fold_in")
    click = events.parse(events.FEEDBACK, fb(action="click", context={"verified": True}), S, NOW)
    assert click is not None and (click.weight, click.version, click.source) == (S.weight_click, "unknown", "unknown")
    # Feedback without a valid token is counted in the metrics but never moves trending.
    forged = events.parse(events.FEEDBACK, fb(context={"source": "unverified", "verified": False}), S, NOW)
    assert forged is not None and (forged.kind, forged.weight, forged.source) == ("feedback", 0.0, "unverified")
    dislike = events.parse(events.FEEDBACK, fb(action="dislike"), S, NOW)
    assert dislike is not None and dislike.weight == 0.0 and dislike.kind == "feedback"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"\xff\xfe not json", "json"),
    (b"\xef\xbb\xbf" + fb(), "json"),                      # a BOM is not JSON
    (b'{"anime_id": NaN}', "json"),
    (b"[1, 2]", "json"),
    (b"", "json"),
    (b"[" * 100_000, "json"),                              # nesting deeper than the decoder allows
    (fb(anime_id="5114"), "schema"),
    (fb(anime_id=True), "schema"),
    (fb(anime_id=2**40), "schema"),
    (fb(action="love"), "schema"),
    (fb(created_at="yesterday"), "timestamp"),
    (fb(created_at="2026-12-01T11:59:00"), "timestamp"),   # no zone: ambiguous
    (fb(created_at="1970-01-01T00:00:00Z"), "timestamp"),
    (fb(created_at="2027-06-01T00:00:00Z"), "timestamp"),  # months ahead of now
])
def test_poison_feedback_is_named_never_raised(payload: bytes, reason: str) -> None:
    rec = events.parse(events.FEEDBACK, payload, S, NOW)
    assert rec is not None and (rec.kind, rec.reason) == ("poison", reason)


def test_list_entries_count_at_crawl_time_when_recent() -> None:
    rec = events.parse(events.INGEST, item(), S, NOW)
    assert rec == events.Record("trend", 1, S.weight_completed, NOW - 3_600_000, "animelist_entry")
    started = events.parse(events.INGEST, item(status="watching"), S, NOW)
    assert started is not None and started.weight == S.weight_started
    episode = events.parse(events.INGEST, json.dumps({"item_type": "activity", "user_name": "bob", "anime_id": 2,
                                                      "activity_date": "2026-12-01T10:00:00Z"}).encode(), S, NOW)
    assert episode is not None and (episode.weight, episode.ts_ms) == (S.weight_episode, NOW - 7_200_000)


@pytest.mark.parametrize("payload", [
    item(last_interaction_date="2019-01-01T00:00:00Z"),     # old history crawled today: not a trend
    item(status="plan_to_watch"),
    item(status="dropped"),
    item(last_interaction_date=None),
    json.dumps({"item_type": "anime_info", "anime_id": 1, "title": "x"}).encode(),
])
def test_valid_items_that_are_not_trend_signals_are_skipped(payload: bytes) -> None:
    assert events.parse(events.INGEST, payload, S, NOW) is None


@pytest.mark.parametrize(("payload", "reason"), [
    (b"garbage", "json"),
    (json.dumps({"user_name": "x"}).encode(), "schema"),
    (item(anime_id=-3), "schema"),
    (item(crawled_at="not a date"), "timestamp"),
])
def test_poison_items(payload: bytes, reason: str) -> None:
    rec = events.parse(events.INGEST, payload, S, NOW)
    assert rec is not None and (rec.kind, rec.reason) == ("poison", reason)


def test_rank_is_deterministic_and_drops_nothing_positive() -> None:
    assert events.rank({3: 2.0, 1: 2.0, 2: 5.0, 4: 0.0, 5: float("nan")}, 10) == [2, 1, 3]
    assert events.rank({1: 1.0, 2: 3.0}, 1) == [2]


def test_jdbc_url_from_libpq_url() -> None:
    assert jdbc("postgresql://ani:p%40ss@db.example:6543/animerec?sslmode=require") == (
        "jdbc:postgresql://db.example:6543/animerec?sslmode=require", "ani", "p@ss")
    assert jdbc("postgresql://postgres@127.0.0.1/x") == ("jdbc:postgresql://127.0.0.1:5432/x", "postgres", "")
    assert jdbc("user=postgres dbname=t host=127.0.0.1 port=5433") == (
        "jdbc:postgresql://127.0.0.1:5433/t", "postgres", "")


def test_java_kafka_properties_follow_the_core_security_settings() -> None:
    assert java_properties(KafkaSecuritySettings()) == {}
    props = java_properties(KafkaSecuritySettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                                                  sasl_username="u", sasl_password='p"w', ssl_cafile="/ca.pem"))
    assert props["security.protocol"] == "SASL_SSL"
    assert props["sasl.jaas.config"] == ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                                         'username="u" password="p\\"w";')
    assert (props["ssl.truststore.type"], props["ssl.truststore.location"]) == ("PEM", "/ca.pem")


def test_latest_checkpoint_is_the_newest_complete_one(tmp_path: Path) -> None:
    import os
    assert latest_checkpoint(tmp_path / "none") is None
    for n, mtime in ((3, 100), (7, 300), (5, 200)):
        d = tmp_path / "job" / f"chk-{n}"
        d.mkdir(parents=True)
        (d / "_metadata").write_bytes(b"x")
        os.utime(d / "_metadata", (mtime, mtime))
    (tmp_path / "job" / "chk-9").mkdir()  # in progress: no _metadata yet
    assert latest_checkpoint(tmp_path) == tmp_path / "job" / "chk-7"


def test_lateness_interval_literal_holds_any_number_of_seconds() -> None:
    assert _interval(120) == "INTERVAL '0 00:02:00' DAY TO SECOND"
    assert _interval(90061) == "INTERVAL '1 01:01:01' DAY TO SECOND"
