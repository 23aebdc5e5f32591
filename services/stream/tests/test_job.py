"""The PyFlink job end to end on Tansu, PostgreSQL and Redis: windows, a late event, every poison class, a kill -9
mid-stream and a resume from the checkpoint that counts every event exactly once, and windows that close on the
clock when nothing follows a burst."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from kafka import KafkaProducer

from animerec.common import config, kafka
from animerec.stream.job import latest_checkpoint

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[3]
STREAM_PY = ROOT / ".venv-stream" / "bin" / "python"
# The fixture's hopping windows: short, because with nothing after a burst they close on the clock.
SIZE, SLIDE = timedelta(minutes=1), timedelta(seconds=30)
WEIGHTS = {"completed": 3.0, "like": 3.0, "click": 1.0}  # StreamSettings' defaults
GENRES = {1: ["Action"], 2: ["Action", "Drama"], 3: ["Comedy"], 4: ["Drama"], 5: ["Comedy"], 6: ["Action"],
          7: ["Romance"], 8: ["Drama"], 9: ["Action", "Fantasy"], 10: ["Fantasy"], 20: ["Sports"]}


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the job exited ({proc.returncode}) while waiting for {what}")
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture()
def job_env(kafka_bootstrap: str, pg_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    if not STREAM_PY.exists():
        pytest.fail(f"{STREAM_PY} missing: `make setup` builds the streaming job's venv")
    prefix = f"s{uuid.uuid4().hex[:8]}."
    kafka.ensure_topics(config.core({}, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("TRUNCATE processed.stream_online_metrics, processed.stream_event_counts")
    # Idle after 10 s: once every partition is idle the clock moves event time on, so a partition must not go idle
    # before the first records of its backlog arrive (a loaded machine starts the job slowly).
    return {**os.environ, "ANIMEREC_KAFKA_BOOTSTRAP": kafka_bootstrap, "ANIMEREC_TOPIC_PREFIX": prefix,
            "ANIMEREC_POSTGRES_URL": pg_url, "ANIMEREC_REDIS_URL": redis_url, "ANIMEREC_REDIS_PREFIX": "t:",
            "ANIMEREC_STREAM_GROUP_ID": f"stream-{prefix}", "ANIMEREC_STREAM_CHECKPOINT_DIR": str(tmp_path / "ck"),
            "ANIMEREC_STREAM_CHECKPOINT_INTERVAL_SECONDS": "5",
            "ANIMEREC_STREAM_WINDOW_HOURS": str(SIZE.total_seconds() / 3600),
            "ANIMEREC_STREAM_SLIDE_MINUTES": str(SLIDE.total_seconds() / 60),
            "ANIMEREC_STREAM_ALLOWED_LATENESS_SECONDS": "20",
            "ANIMEREC_STREAM_CATALOGUE_REFRESH_SECONDS": "1", "ANIMEREC_STREAM_IDLE_SECONDS": "10",
            "ANIMEREC_STREAM_RESTART_ATTEMPTS": "0",
            "ANIMEREC_LOG_FORMAT": "text", "ANIMEREC_METRICS_PORT": "0"}


def publish_version(r: redis.Redis) -> None:
    """A published version: the catalogue the job checks anime against, and the batch trending list."""
    r.set("t:rec:live", "v1")
    r.hset("t:rec:v:v1:meta", mapping={"version": "v1"})
    r.hset("t:rec:v:v1:cards", mapping={str(a): json.dumps({"title": f"anime {a}", "genres": g})
                                        for a, g in GENRES.items()})
    r.set("t:rec:v:v1:trending", json.dumps([20]))


def last_window_end(at: datetime) -> datetime:
    """End of the last window that holds `at`: the slide boundary at or before it, plus the size."""
    step = SLIDE.total_seconds()
    return datetime.fromtimestamp(at.timestamp() // step * step, UTC) + SIZE


def window_list(trend: list[tuple[int, float, datetime]], end: datetime) -> list[int]:
    """The trending list of the window ending at `end`, from what was produced."""
    scores: dict[int, float] = {}
    for anime, weight, at in trend:
        if end - SIZE <= at < end and weight > 0:
            scores[anime] = scores.get(anime, 0.0) + weight
    return [a for a, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def trending(r: redis.Redis) -> list[int]:
    """The live version's trending list, what /v1/trending answers."""
    return list(json.loads(r.get("t:rec:v:v1:trending") or "[]"))


def window_end_ms(r: redis.Redis) -> int:
    return int(r.hget("t:rec:stream:trending:meta", "window_end_ms") or 0)


def counts(pg_url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT kind, reason, sum(events)::int FROM processed.stream_event_counts "
                            "GROUP BY 1, 2").fetchall()
    return {(k, r): n for k, r, n in rows}


def metrics(pg_url: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT model_version, source, sum(clicks)::int, sum(likes)::int, sum(dislikes)::int "
                            "FROM processed.stream_online_metrics GROUP BY 1, 2").fetchall()
    return {(v, s): (c, lk, d) for v, s, c, lk, d in rows}


class Producer:
    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.p = KafkaProducer(bootstrap_servers=bootstrap)
        self.prefix = prefix

    def feedback(self, anime: int, action: str, at: datetime, version: str = "v1", source: str = "model",
                 user: str = "alice") -> None:
        verified = source != "unverified"
        doc = {"event_id": uuid.uuid4().hex, "user_name": user, "anime_id": anime, "action": action,
               "context": {"model_version": version, "source": source, "verified": verified}, "created_at": iso(at)}
        self.raw("feedback.events", json.dumps(doc).encode(), at, user)

    def entry(self, anime: int, status: str, at: datetime, user: str) -> None:
        doc = {"item_type": "animelist_entry", "user_name": user, "anime_id": anime, "status": status,
               "crawled_at": iso(at), "last_interaction_date": iso(at - timedelta(hours=1))}
        self.raw("ingest.items", json.dumps(doc).encode(), at, user)

    def raw(self, topic: str, value: bytes | None, at: datetime, key: str | None = "k") -> None:
        """The record's Kafka timestamp is its event time (when the API or the crawler produced it)."""
        self.p.send(self.prefix + topic, key=key.encode() if key else None, value=value,
                    timestamp_ms=int(at.timestamp() * 1000))

    def flush(self) -> None:
        self.p.flush()


def run_job(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(STREAM_PY), "-m", "animerec.common.cli", "stream", "run", *args], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)


def test_trending_live_metrics_poison_and_exactly_once_across_a_kill(job_env: dict[str, str], pg_url: str,
                                                                     tmp_path: Path) -> None:
    r = redis.Redis.from_url(job_env["ANIMEREC_REDIS_URL"])
    publish_version(r)
    out = Producer(job_env["ANIMEREC_KAFKA_BOOTSTRAP"], job_env["ANIMEREC_TOPIC_PREFIX"])
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    t0 -= timedelta(minutes=t0.minute % 5)

    # Phase A: likes, clicks and dislikes on our page, completions seen by the crawler, and poison of every kind.
    expected: dict[tuple[str, str], int] = {}
    live: dict[tuple[str, str], list[int]] = {}
    trend: list[tuple[int, float, datetime]] = []

    def add(kind: str, reason: str = "", n: int = 1) -> None:
        expected[(kind, reason)] = expected.get((kind, reason), 0) + n

    def fb(anime: int, action: str, at: datetime, version: str = "v1", source: str = "model") -> None:
        out.feedback(anime, action, at, version, source)
        add("feedback")
        trend.append((anime, WEIGHTS.get(action, 0.0) if source != "unverified" else 0.0, at))
        row = live.setdefault((version, source), [0, 0, 0])
        row[("click", "like", "dislike").index(action)] += 1

    for i in range(40):
        fb(1 + i % 5, ("like", "click", "dislike")[i % 3], t0 + timedelta(seconds=20 * i),
           source=("model", "fold_in")[i % 2])
    def completed(anime: int, at: datetime, user: str) -> None:
        out.entry(anime, "completed", at, user=user)
        add("trend")
        trend.append((anime, WEIGHTS["completed"], at))

    for i in range(30):
        completed(6 + i % 3, t0 + timedelta(seconds=30 * i), f"u{i}")
    for value, reason in [(b"\xff\xfe", "json"), (b"\xef\xbb\xbf{}", "json"), (b'{"a": NaN}', "json"),
                          (b"[" * 5000, "json"), (b'{"anime_id": 1, "a": 1, "a": 2}', "schema"),
                          (json.dumps({"anime_id": float("inf")}).encode(), "json"),
                          (json.dumps({"event_id": "ab12cd34", "user_name": "x", "anime_id": 2**40, "action": "like",
                                       "created_at": iso(t0)}).encode(), "schema"),
                          (json.dumps({"event_id": "ab12cd34", "user_name": "x", "anime_id": 1, "action": "like",
                                       "created_at": "soon"}).encode(), "timestamp")]:
        out.raw("feedback.events", value, t0)
        add("poison", reason)
    out.raw("feedback.events", None, t0, key="tombstone")
    add("poison", "empty")
    out.raw("ingest.items", b"", t0, key=None)
    add("poison", "json")
    out.feedback(999, "like", t0, user="bob")  # not in the published catalogue
    add("poison", "unknown_anime")
    out.flush()

    log = tmp_path / "job.log"
    proc = run_job(job_env, log)
    try:
        wait_for(lambda: counts(pg_url) == expected, 400, f"phase A counted {expected}", proc)
        # Nothing comes after that history: its windows close on the clock, the last one (holding the last
        # completion) last, and move /v1/trending's list away from the published batch list, with no publish.
        end_a = last_window_end(t0 + timedelta(seconds=30 * 29))
        wait_for(lambda: window_end_ms(r) == int(end_a.timestamp() * 1000), 60, "the last window of phase A", proc)
        assert trending(r) == window_list(trend, end_a) != [20]

        counted_at = time.time()
        wait_for(lambda: (ck := latest_checkpoint(tmp_path / "ck")) is not None
                 and (ck / "_metadata").stat().st_mtime > counted_at + 0.5, 60, "a checkpoint", proc)
        # Events counted and upserted after that checkpoint, then a kill before the next one may cover them: the
        # resumed job reads them again from the checkpoint's offsets and must not count them twice.
        for i in range(20):
            fb(4, "click", t0 + timedelta(minutes=15, seconds=i))
        out.flush()
        wait_for(lambda: counts(pg_url) == expected, 120, "the clicks after the checkpoint counted", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # mid-stream: no drain, no final checkpoint
        proc.wait()

    # Phase B, while the job is down: a burst of completions of anime 9, likes on another version, forged likes,
    # stamped now (older ones would be late: the windows' watermark, restored from the checkpoint, is the clock's).
    # Nothing comes after them: once the partitions are idle, the clock closes the windows that hold them.
    burst = datetime.now(UTC)
    for i in range(30):
        completed(9, burst, f"burst{i}")
    for _ in range(10):
        fb(2, "like", burst, version="v2", source="fold_in")
    for _ in range(50):  # forged: no valid token, so counted in the metrics and never in trending
        fb(20, "like", burst, source="unverified")
    out.flush()
    end_b = last_window_end(burst)
    window_end = int(end_b.timestamp() * 1000)
    resumed = run_job(job_env, log)
    try:
        wait_for(lambda: counts(pg_url) == expected, 400, f"everything counted once: {expected}", resumed)
        wait_for(lambda: window_end_ms(r) >= window_end, 180, "the last window holding the burst", resumed)
        assert counts(pg_url) == expected  # every event once: none lost at the kill, none counted twice after it
        final = trending(r)
        assert final == window_list(trend, end_b) and final[0] == 9 and 20 not in final
        genres = {str(k, "utf-8") if isinstance(k, bytes) else k: json.loads(v)
                  for k, v in r.hgetall("t:rec:stream:trending:genres").items()}
        assert genres["Fantasy"] == [9] and genres["Action"][0] == 9

        # Late likes for that closed window: counted in the live metrics, never in the window written already.
        for _ in range(40):
            fb(10, "like", burst)
        out.flush()
        wait_for(lambda: counts(pg_url) == expected, 120, "the late likes counted", resumed)
        time.sleep(3)
        assert trending(r) == final
        assert window_end_ms(r) == window_end
        assert metrics(pg_url) == {k: tuple(v) for k, v in live.items()}
    finally:
        os.killpg(resumed.pid, signal.SIGKILL)
        resumed.wait()
    assert "resuming from" in log.read_text()


def likes(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT coalesce(sum(likes), 0)::int FROM processed.stream_online_metrics").fetchone()
    return int(row[0]) if row else 0


def test_a_burst_then_silence_moves_trending_and_live_metrics(job_env: dict[str, str], pg_url: str,
                                                              tmp_path: Path) -> None:
    """The demo's case: a few events, then nothing. No later event moves the topics' watermark, yet the window
    holding the burst must close (on the wall clock, once the partitions went idle) and reach Redis, and a like
    must reach the live metrics within a minute."""
    env = {**job_env, "ANIMEREC_STREAM_WINDOW_HOURS": str(1 / 60), "ANIMEREC_STREAM_SLIDE_MINUTES": "0.25",
           "ANIMEREC_STREAM_ALLOWED_LATENESS_SECONDS": "10", "ANIMEREC_STREAM_IDLE_SECONDS": "5"}
    r = redis.Redis.from_url(env["ANIMEREC_REDIS_URL"])
    publish_version(r)
    out = Producer(env["ANIMEREC_KAFKA_BOOTSTRAP"], env["ANIMEREC_TOPIC_PREFIX"])
    proc = run_job(env, tmp_path / "job.log", "--fresh")
    try:
        out.feedback(1, "like", datetime.now(UTC), user="warm")  # the job is up once this is counted
        out.flush()
        wait_for(lambda: likes(pg_url) == 1, 400, "the warm-up like counted", proc)

        burst = datetime.now(UTC)
        for i in range(20):
            out.entry(9, "completed", burst, user=f"burst{i}")
        out.feedback(5, "like", burst, user="carol")
        out.flush()
        sent = time.monotonic()
        # Nothing is produced from here on.
        wait_for(lambda: likes(pg_url) == 2, 60, "the like in the live metrics within a minute", proc)
        like_s = time.monotonic() - sent
        wait_for(lambda: trending(r)[:1] == [9], 120,
                 "the burst in the trending list with no later event", proc)
        trending_s = time.monotonic() - sent
        assert window_end_ms(r) > burst.timestamp() * 1000
        print(f"quiet system: like -> live metrics {like_s:.1f} s, burst -> trending in Redis {trending_s:.1f} s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
