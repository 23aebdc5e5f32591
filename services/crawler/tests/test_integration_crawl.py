"""The crawler against the offline mirror (with faults), Tansu, PostgreSQL and Redis:

seed -> schedule -> workers crawl -> every anime and profile of a small world has its items on the
ingestion topic and is marked crawled; a worker SIGKILLed mid-crawl loses nothing; the HTTP service
crawls on demand; bad messages and unparseable pages go to the dead-letter topic.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import httpx
import psycopg
import pytest
from kafka import KafkaProducer

from animerec.common import config, kafka
from animerec.common.kafka import EventProducer, consumer_lag, topic_name
from animerec.devkit.fixtures import REDIS_SERVER
from animerec.devkit.processes import crawler_env, read_topic, start_serve, wait_until
from animerec.malmirror.faults import Faults
from animerec.malmirror.server import run_in_thread
from animerec.malmirror.world import generate
from animerec.scheduler import scheduler
from animerec.scheduler.settings import SchedulerSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORLD = dict(users=5, anime=10, seed=3)


@pytest.fixture()
def settings(kafka_bootstrap, crawl_db, _redis_db):
    unique = uuid.uuid4().hex[:8]
    core = config.core({}, kafka_bootstrap=kafka_bootstrap, postgres_url=crawl_db,
                       redis_url=f"{REDIS_SERVER}/{_redis_db}", redis_prefix=f"t{unique}:",
                       topic_prefix=f"t{unique}.", kafka_session_timeout_ms=6000)
    kafka.ensure_topics(core)
    return core


def settled(db_url: str) -> tuple[int, int, list[str]]:
    """(scheduled URLs, those crawled or failed since their scheduling, the unsettled ones)."""
    rows = []
    with psycopg.connect(db_url) as conn:
        for table in ("anime_schedule", "profile_schedule"):
            rows += conn.execute(
                f"SELECT url, (last_crawled_date >= last_scheduled_date OR last_error_date >= last_scheduled_date) "
                f"FROM {table} WHERE last_scheduled_date IS NOT NULL").fetchall()
    return len(rows), sum(1 for _, done in rows if done), [u for u, done in rows if not done]


def all_settled(db_url: str):
    total, done, _ = settled(db_url)
    return total > 0 and total == done


def test_seed_schedule_crawl_survives_a_killed_worker(settings, procs):
    world = generate(**WORLD)
    faults = Faults(rate_429=0.06, rate_500=0.06, rate_503=0.04, rate_slow=0.03, slow_seconds=0.3, retry_after=1,
                    seed=5)
    with run_in_thread(world, faults=faults) as mirror:
        env = crawler_env(settings, mirror.base_url, group=f"crawler-{settings.topic_prefix}", max_inflight=3)
        serve, base = start_serve(procs, env, timeout=60)

        # Seeding only fills the schedule tables.
        top = httpx.post(f"{base}/seed/anime/top", json={"pages": 2}, timeout=60)
        assert top.status_code == 200, top.text
        recent = httpx.post(f"{base}/seed/profile/recent", json={}, timeout=60)
        assert recent.status_code == 200, recent.text
        with psycopg.connect(settings.postgres_url) as conn:
            seeded_anime = {u for (u,) in conn.execute("SELECT url FROM anime_schedule")}
            seeded_users = {u for (u,) in conn.execute("SELECT url FROM profile_schedule")}
            assert conn.execute("SELECT count(*) FROM anime_schedule WHERE last_crawled_date IS NOT NULL "
                                "OR last_scheduled_date IS NOT NULL").fetchone() == (0,)
        assert seeded_users == {f"https://myanimelist.net/profile/{n}" for n in world.user_names}
        assert len(seeded_anime) >= 3 and top.json()["discovered"] == len(seeded_anime)

        # On demand, with the items in the answer (what the API uses for unknown users).
        user = world.user_names[1]
        answer = httpx.post(f"{base}/crawl", json={"urls": [f"https://myanimelist.net/profile/{user}"], "wait": True},
                            timeout=90)
        assert answer.status_code == 200, answer.text
        (result,) = answer.json()["results"]
        assert result["status"] == "ok", result
        listed = {i["anime_id"] for i in result["items"] if i["item_type"] == "animelist_entry"}
        ui = world.user_index[user]
        assert listed == {world.anime[int(world.e_anime[i])].anime_id for i in world.entries(ui)}
        assert any(i["item_type"] == "profile" and i["user_name"] == user for i in result["items"])

        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert 'animerec_crawler_pages_total{page_type="profile",source="mal",status="ok"}' in metrics
        assert 'animerec_crawler_items_total{item_type="animelist_entry"}' in metrics
        assert 'animerec_crawler_fetch_duration_seconds_bucket{host="myanimelist.net"' in metrics
        assert 'animerec_crawler_jobs_total{kind="seed",outcome="ok"} 2.0' in metrics

        # Without wait, a URL goes to the workers through the schedule topic.
        extra = "https://myanimelist.net/anime/2"
        queued = httpx.post(f"{base}/crawl", json=[extra], timeout=30)
        assert queued.status_code == 202 and queued.json()["scheduled"][0]["url"] == extra
        with psycopg.connect(settings.postgres_url) as conn:   # marked scheduled once Kafka acknowledged it
            assert conn.execute("SELECT scheduled_count, last_scheduled_date IS NOT NULL FROM anime_schedule "
                                "WHERE url = %s", (extra,)).fetchone() == (1, True)

        # Schedule everything seeded; one worker starts and is killed mid-crawl.
        sched = config.load(SchedulerSettings, {}, recrawl_min_age_hours=1)
        for kind in ("anime", "profile"):
            assert scheduler.run(settings, sched, kind).ok
        total, _, _ = settled(settings.postgres_url)
        first = procs(["crawl", "worker"], env)
        wait_until(lambda: settled(settings.postgres_url)[1] >= 1, 90, "the first crawled URL", 0.05,
                   procs_to_show=[first])
        first.kill()
        _, done_at_kill, _ = settled(settings.postgres_url)
        assert done_at_kill < total, "the worker finished everything before it was killed: the test proves nothing"

        # Two replicas take over: the killed worker's unfinished messages are redelivered.
        workers = [procs(["crawl", "worker"], env) for _ in range(2)]
        wait_until(lambda: all_settled(settings.postgres_url), 120, "every scheduled URL crawled",
                   procs_to_show=workers)
        # Round two: what the crawl discovered (anime linked from lists, ...) is scheduled and crawled too.
        for kind in ("anime", "profile"):
            assert scheduler.run(settings, sched, kind).ok
        wait_until(lambda: all_settled(settings.postgres_url), 120, "discovered URLs crawled", procs_to_show=workers)
        for worker in workers:
            assert worker.stop() == 0, worker.output()
        # The replicas shared the work (each owns half of every schedule topic's partitions).
        assert all('"msg": "crawled"' in worker.log_path.read_text() for worker in workers)
        assert serve.stop() == 0, serve.output()

    # Every anime and profile of the world: crawled, no errors, items on the ingestion topic.
    with psycopg.connect(settings.postgres_url) as conn:
        anime_rows = dict(conn.execute("SELECT url, error_count FROM anime_schedule WHERE crawled_count > 0"))
        user_rows = dict(conn.execute("SELECT url, error_count FROM profile_schedule WHERE crawled_count > 0"))
        failures = conn.execute("SELECT url, error_count, last_error FROM anime_schedule WHERE error_count > 0 "
                                "UNION ALL SELECT url, error_count, last_error FROM profile_schedule "
                                "WHERE error_count > 0").fetchall()
    assert failures == []
    assert set(anime_rows) == {f"https://myanimelist.net/anime/{a.anime_id}" for a in world.anime}
    assert set(user_rows) == {f"https://myanimelist.net/profile/{n}" for n in world.user_names}
    assert set(anime_rows.values()) == {0} and set(user_rows.values()) == {0}

    events = read_topic(settings, topic_name(settings, "ingest"), f"check-{settings.topic_prefix}")
    assert all(e.error is None for e in events)
    by_type = defaultdict(list)
    for e in events:
        by_type[e.value["item_type"]].append(e)
    for item_type in ("anime_info", "anime_stats"):
        assert {e.value["anime_id"] for e in by_type[item_type]} == {a.anime_id for a in world.anime}, item_type
        assert all(e.key == str(e.value["anime_id"]) for e in by_type[item_type])
    assert {e.value["user_name"] for e in by_type["profile"]} == set(world.user_names)
    for ui, name in enumerate(world.user_names):
        listed = {e.value["anime_id"] for e in by_type["animelist_entry"] if e.value["user_name"] == name}
        assert listed == {world.anime[int(world.e_anime[i])].anime_id for i in world.entries(ui)}, name
        assert all(e.key == name for e in by_type["animelist_entry"] if e.value["user_name"] == name)
    # Every schedule message was committed by the crawler group.
    for key in ("schedule_anime", "schedule_profile"):
        lag = consumer_lag(settings, env["ANIMEREC_CRAWLER_GROUP"], topic_name(settings, key))
        assert sum(lag.values()) == 0, (key, lag)


def test_bad_messages_and_unparseable_pages_are_dead_lettered(settings, procs):
    world = generate(**WORLD)
    with run_in_thread(world, faults=Faults(rate_garble=1.0, seed=1)) as mirror:
        env = crawler_env(settings, mirror.base_url, group=f"crawler-{settings.topic_prefix}")
        anime_topic = topic_name(settings, "schedule_anime")
        raw = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        raw.send(anime_topic, key=b"junk", value=b"\x00not json")
        raw.flush()
        raw.close()
        with EventProducer(settings, "test") as producer:
            # The anime twice, as after a scheduler crash between publish and commit: crawled once.
            for url in ("https://evil.example/anime/1", "https://myanimelist.net/anime/1",
                        "https://myanimelist.net/anime/1"):
                producer.send(anime_topic, {"url": url, "kind": "anime", "scheduled_at": "2026-01-01T00:00:00Z"},
                              key=url, schema="schedule_request", wait=True)
        worker = procs(["crawl", "worker"], env)

        def drained():
            return sum(consumer_lag(settings, env["ANIMEREC_CRAWLER_GROUP"], anime_topic).values()) == 0

        wait_until(drained, 90, "the schedule messages committed", 0.5, procs_to_show=[worker])
        assert worker.stop() == 0, worker.output()

    letters = read_topic(settings, topic_name(settings, "deadletter"), f"check-{settings.topic_prefix}")
    by_stage = defaultdict(list)
    for e in letters:
        assert e.schema == "dead_letter" and e.error is None
        by_stage[e.value["stage"]].append(e.value)
    worker_letters = by_stage["crawler.worker"]
    assert len(worker_letters) == 2
    assert any("not JSON" in m["error"] and m["source_topic"] == anime_topic for m in worker_letters)
    assert any("only https://myanimelist.net" in m["error"] for m in worker_letters)
    (parse_letter,) = by_stage["crawler.parse"]
    assert parse_letter["url"] == "https://myanimelist.net/anime/1"
    assert "cannot parse anime page" in parse_letter["error"]
    assert parse_letter["payload"] and parse_letter["key"] == "1"
    with psycopg.connect(settings.postgres_url) as conn:
        errors, last_error, crawled = conn.execute(
            "SELECT error_count, last_error, crawled_count FROM anime_schedule WHERE url = %s",
            ("https://myanimelist.net/anime/1",)).fetchone()
    assert (errors, crawled) == (1, 0) and "cannot parse anime page" in last_error
