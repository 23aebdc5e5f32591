"""ETL (landing -> staging -> Great Expectations -> processed) on a generated world, vs a plain COPY of its
user_anime landing rows. full: 10M animelist rows (100k users x 100 entries, 20k anime); quick: 200k.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from run import Row

from animerec.common import db, migrate
from animerec.etl import runner
from animerec.etl.settings import EtlSettings
from animerec.landing import sink, world
from animerec.landing.tables import landing_tables

PG_SERVER = os.environ.get("ANIMEREC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
COLUMNS = ("user_name", "anime_id", "anime_title", "status", "score", "progress", "last_interaction_date",
           "crawled_at", "source", "source_url", "kafka_topic", "kafka_partition", "kafka_offset")


def side_rows(w: world.World, url: str) -> int:
    """Anime, profiles, friends, relations... of the world, landed without schema checks (not timed)."""
    tables = landing_tables()
    rows: dict[str, list[tuple]] = {}
    offset = 0
    for _, m in world.messages(world.World(anime=w.anime, users=w.users, entries_per_user=0, seed=w.seed)):
        rows.setdefault(m["item_type"], []).append(tables[m["item_type"]].row(m, "bench.side", 0, offset))
        offset += 1
    with db.connect(url) as conn:
        for schema, batch in rows.items():
            sink.write_rows(conn, tables[schema], batch)
    return offset


def list_csv(w: world.World, n: int, path: str) -> None:
    """n animelist_entry landing rows, written as CSV in one go (numpy, not timed)."""
    rng = np.random.default_rng(w.seed)
    users = np.repeat(np.arange(w.users), n // w.users + 1)[:n]
    anime = rng.integers(1, w.anime + 1, n)
    episodes = np.array([w.episodes(a) or 0 for a in range(w.anime + 1)])
    airing = np.array([w.airing(a) for a in range(w.anime + 1)], dtype=object)
    status = np.array(world.STATUSES, dtype=object)[rng.integers(0, 5, n)]
    progress = (rng.random(n) * (episodes[anime] + 3)).astype(np.int64)       # some above the episode count
    score = rng.integers(0, 11, n)
    names = np.array([w.user_name(u) for u in range(w.users)], dtype=object)
    not_aired = airing[anime] == world.AIRING[2]
    status[not_aired & (rng.random(n) < 0.5)] = "plan_to_watch"
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    table = pa.table({
        "user_name": pa.array(names[users], pa.string()), "anime_id": pa.array(anime, pa.int32()),
        "anime_title": pa.array(np.char.add("Anime ", anime.astype(str))),
        "status": pa.array(status, pa.string()),
        "score": pa.array(np.where(score == 0, None, score).tolist(), pa.int16()),
        "progress": pa.array(progress, pa.int32()),
        "last_interaction_date": pa.array(np.full(n, ts), pa.timestamp("s", tz="UTC")),
        "crawled_at": pa.array(np.full(n, ts), pa.timestamp("s", tz="UTC")),
        "source": pa.array(np.full(n, "mal")), "source_url": pa.array(np.full(n, "https://myanimelist.net/animelist/x")),
        "kafka_topic": pa.array(np.full(n, "bench.list")), "kafka_partition": pa.array(np.zeros(n, np.int32)),
        "kafka_offset": pa.array(np.arange(n, dtype=np.int64)),
    })
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=False))


def copy_csv(url: str, path: str) -> float:
    started = time.perf_counter()
    with db.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY landing.animelist_entry ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)") as cp, \
                open(path, "rb") as f:
            while block := f.read(1 << 20):
                cp.write(block)
        conn.commit()
    return time.perf_counter() - started


def run(quick: bool) -> list[Row]:
    n = 200_000 if quick else 10_000_000
    users = max(100, n // 100)
    w = world.World(anime=max(200, n // 500), users=users, entries_per_user=n // users, seed=11)
    url = db.with_database(PG_SERVER, f"animerec_bench_etl_{uuid.uuid4().hex[:8]}")
    db.ensure_database(url)
    tmp = tempfile.mkdtemp(prefix="bench-etl-")
    path = os.path.join(tmp, "animelist.csv")
    try:
        migrate.apply(url)
        side_rows(w, url)
        list_csv(w, n, path)
        copy_s = copy_csv(url, path)
        os.unlink(path)
        with db.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE landing.animelist_entry")
        started = time.perf_counter()
        result = runner.run(url, EtlSettings(results_dir=__import__("pathlib").Path(tmp)))
        etl_s = time.perf_counter() - started
        assert result.ok, result.validation.summary() if result.validation else result.status
        promoted = result.promoted.get("user_anime", 0)
    finally:
        if os.path.exists(path):
            os.unlink(path)
        db.drop_database(url)
    return [Row("ETL run (3 steps + GX + promotion)", etl_s, "s", f"COPY of the {n:,} user_anime landing rows", copy_s,
                note=f"{w.users:,} users, {w.anime:,} anime, {promoted:,} user_anime rows promoted")]
