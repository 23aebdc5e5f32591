"""Whole runs: promotion only after validation, atomic for readers, a failing run changes nothing,
and the full path from Kafka through the landing writer to processed tables and the exported dataset."""

import json
import threading
import time

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from animerec.common import config, db
from animerec.common.cli import main
from animerec.common.kafka import EventProducer, ensure_topics, topic_name
from animerec.devkit import eventworld as world
from animerec.etl import runner
from animerec.etl.export import export
from animerec.etl.promote import TABLES, promote
from animerec.etl.settings import EtlSettings
from animerec.landing.config import settings as landing_settings
from animerec.landing.writer import Writer

from .conftest import land, rows

pytestmark = pytest.mark.integration

SNAPSHOT = ("SELECT (SELECT count(*) FROM processed.anime), (SELECT count(*) FROM processed.\"user\"), "
            "(SELECT count(*) FROM processed.user_anime), (SELECT count(*) FROM processed.anime_anime), "
            "(SELECT count(*) FROM processed.user_user), (SELECT coalesce(sum(score), 0) FROM processed.user_anime)")


def snapshot(url):
    return rows(url, SNAPSHOT)[0]


def items(w):
    return [m for _, m in world.messages(w)]


def cli(url, results_dir, *args, **env_extra):
    env = {"ANIMEREC_POSTGRES_URL": url, "ANIMEREC_ETL_RESULTS_DIR": str(results_dir), "ANIMEREC_LOG_LEVEL": "WARNING",
           **env_extra}
    return CliRunner().invoke(main, ["etl", *args], env=env)


def test_failed_validation_leaves_processed_untouched(etl_db, tmp_path, pushgateway):
    land(etl_db, items(world.EventWorld(anime=16, users=8)))
    first = cli(etl_db, tmp_path, "run", ANIMEREC_ETL_PUSHGATEWAY_URL=pushgateway.address,
                ANIMEREC_METRICS_PUSH_LABELS="release_namespace=ns1,release=r1")
    assert first.exit_code == 0, first.output
    [(_, path, body)] = pushgateway.pushes  # one group per install: two releases never overwrite each other
    assert pushgateway.group(path) == {"job": "animerec-etl", "release_namespace": "ns1", "release": "r1"}
    assert "animerec_etl_last_run_ok 1.0" in body
    assert "promoted" in first.output
    before = snapshot(etl_db)
    assert before[0] == 16 and before[1] == 8
    # New data, one part of it breaking a rule the suites check: a relation type nobody knows.
    unknown_relation = {"item_type": "anime_related", "crawled_at": "2026-03-01T00:00:00Z", "source": "mal",
                        "source_url": "https://myanimelist.net/anime/1", "anime_id": 1, "related_anime_id": 2,
                        "relation_type": "Made up"}
    land(etl_db, [*items(world.EventWorld(anime=20, users=12, seed=9)), unknown_relation], offset=100_000)
    second = cli(etl_db, tmp_path, "run")
    assert second.exit_code == 3  # validation failed (1 would be a crash)
    bad_labels = cli(etl_db, tmp_path, "run", ANIMEREC_ETL_PUSHGATEWAY_URL=pushgateway.address,
                     ANIMEREC_METRICS_PUSH_LABELS="job=etl")
    assert bad_labels.exit_code == 1
    assert "ANIMEREC_METRICS_PUSH_LABELS: bad Pushgateway label 'job=etl'" in bad_labels.output
    assert "FAIL anime_anime.relation_type_allowed" in second.output
    assert "processed tables left untouched" in second.output
    assert snapshot(etl_db) == before
    status, validation = rows(etl_db, "SELECT status, validation FROM etl.runs ORDER BY run_id DESC LIMIT 1")[0]
    assert status == "failed_validation" and validation["success"] is False
    assert [f["name"] for f in validation["failures"]] == ["relation_type_allowed"]
    files = list(tmp_path.glob("etl-run-*.json"))
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    assert stored["suites"]["anime_anime"]["success"] is False
    assert any("made_up" in str(f["examples"]) for f in stored["failures"])


def test_promotion_is_atomic_for_concurrent_readers(etl_db):
    land(etl_db, items(world.EventWorld(anime=12, users=6)))
    runner.transform(etl_db, EtlSettings())
    with db.connect(etl_db) as conn, conn.transaction():
        promote(conn)
    state_a = snapshot(etl_db)
    land(etl_db, items(world.EventWorld(anime=30, users=20, seed=3)), offset=100_000)

    seen, promoting, done = [], threading.Event(), threading.Event()

    def reader():
        with db.connect(etl_db, autocommit=True) as conn:
            while not done.is_set():
                seen.append((promoting.is_set(), conn.execute(SNAPSHOT).fetchone()))

    def slow(table):  # widen the window between the tables of one promotion
        promoting.set()
        time.sleep(0.3)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = runner.run(etl_db, EtlSettings(), after_table=slow)
    finally:
        done.set()
        thread.join(30)
    assert result.ok
    state_b = snapshot(etl_db)
    assert state_a != state_b
    during = [s for p, s in seen if p]
    assert len(during) > 10, "the reader did not read while the promotion ran"
    assert {s for _, s in seen} <= {state_a, state_b}
    assert during[-1] == state_b or state_a in during


def test_the_reader_check_catches_a_promotion_without_one_transaction(etl_db):
    """Control for the test above: promoting table by table (autocommit) shows readers mixed states."""
    land(etl_db, items(world.EventWorld(anime=12, users=6)))
    runner.transform(etl_db, EtlSettings())
    with db.connect(etl_db, autocommit=True) as conn:
        before = snapshot(etl_db)
        states = []
        promote(conn, after_table=lambda _: states.append(snapshot(etl_db)))
    assert any(s not in (before, snapshot(etl_db)) for s in states)


def test_full_run_from_kafka_to_processed_and_export(etl_db, core_settings, unique, tmp_path):
    core = config.core({}, kafka_bootstrap=core_settings.kafka_bootstrap, postgres_url=etl_db,
                       kafka_session_timeout_ms=6000, topic_prefix=f"e{unique}.")
    ensure_topics(core)
    w = world.EventWorld(anime=24, users=15, entries_per_user=6)
    messages = world.messages(w)
    with EventProducer(core, "test") as producer:
        producer.send_all(topic_name(core, "ingest"), messages)
    totals = Writer(core, landing_settings(group=f"etl-{unique}", read_timeout_s=20)).run(once=True)
    assert totals.landed == len(messages) and totals.rejected == 0

    result = runner.run(etl_db, EtlSettings())
    assert result.ok, result.validation.summary()
    pairs = {(m["user_name"], m["anime_id"]) for m in (m for _, m in messages)
             if m["item_type"] in ("animelist_entry", "favorite", "activity", "anime_review")}
    friends = {frozenset((m["user_name"], m["friend_name"])) for _, m in messages if m["item_type"] == "friend"}
    anime, users, user_anime, anime_anime, user_user, _ = snapshot(etl_db)
    assert (anime, users, user_anime, user_user) == (w.anime, w.users, len(pairs), 2 * len(friends))
    assert anime_anime > 0
    # Latest crawl wins: every re-crawled entry shows its newer values, not the older plan_to_watch.
    latest = {}
    for _, m in messages:
        if m["item_type"] == "animelist_entry":
            key = (m["user_name"], m["anime_id"])
            if key not in latest or m["crawled_at"] > latest[key]["crawled_at"]:
                latest[key] = m
    got = {(r[0], r[1]): r[2] for r in rows(etl_db, 'SELECT u.user_name, ua.anime_id, ua.status FROM '
                                                    'processed.user_anime ua JOIN processed."user" u USING (user_id)')}
    assert all(got[k] == m["status"] for k, m in latest.items())

    doc = export(etl_db, str(tmp_path / "dataset"))
    counts = dict(zip(TABLES, (anime, users, user_anime, anime_anime, user_user), strict=True))
    for table in TABLES:
        assert pq.read_table(tmp_path / "dataset" / f"{table}.parquet").num_rows == counts[table]
        assert pacsv.read_csv(tmp_path / "dataset" / f"{table}.csv").num_rows == counts[table]
    genres = pq.read_table(tmp_path / "dataset" / "anime.parquet").column("genres").to_pylist()
    assert all(isinstance(g, list) and g for g in genres)
    dictionary = (tmp_path / "dataset" / "data_dictionary.md").read_text()
    assert all(f"## {t} ({counts[t]} rows)" in dictionary for t in TABLES)
    assert "Stable animerec id" in dictionary
    assert doc["etl_run_id"] == result.run_id
