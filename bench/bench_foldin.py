"""Fold-in latency: GET /v1/users/{name}/recommendations for users outside the published batch whose known list
has 1,000 entries (real MAL lists of the 5,000-user dataset, the 13 users with 1,000+ entries cut to their newest
1,000), served from item-kNN neighbour weights computed on that dataset and published the way `animerec publish`
does. Next to it, in the same run and loop: a raw redis-py HGET of the same users' stored lists (the one read every
such request starts with). Requests go through the ASGI app in process (no network on either side).

Target (issue 15): fold-in p99 at most 50 ms for a 1,000-entry list. The CPU-time row is the same requests'
process CPU time: on a shared, overloaded machine wall-clock figures measure the other processes too.
Redis: ANIMEREC_BENCH_REDIS_URL (default the local server, database 0), keys under a private prefix removed after.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import numpy as np

REDIS_URL = os.environ.get("ANIMEREC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ENTRIES = 1000


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def run(quick: bool):
    import httpx
    import pandas as pd
    import redis
    from run import Row

    from animerec.api.app import create_app
    from animerec.api.settings import ApiSettings
    from animerec.common import config, datasets
    from animerec.common.recstore import RecStore
    from animerec.pipelines.foldin_export import item_knn

    ratings = pd.read_csv(datasets.path("ratings"))
    values = np.where(ratings.rating.to_numpy() > 0, ratings.rating.to_numpy() / 10, 0.8).astype(np.float32)
    started = time.perf_counter()
    neighbours = item_knn(ratings.user_id.to_numpy(), ratings.anime_id.to_numpy(), values, k=50)
    export_s = time.perf_counter() - started
    sizes = ratings.groupby("user_id").size()
    users = sorted(sizes[sizes >= ENTRIES].index)[:5 if quick else None]

    prefix = f"bench-foldin-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = RecStore(client, prefix)
    ids = sorted(neighbours)
    cards = {a: {"title": f"anime {a}", "genres": [], "type": "TV"} for a in ids}
    store.publish({}, {}, cards, ids[:300], ids[:300], {}, neighbours=neighbours)
    names = []
    for u in users:
        rows = ratings[ratings.user_id == u].head(ENTRIES)
        name = f"bench_{u}"
        store.put_user_list(name, [(int(a), "completed", int(r) if r > 0 else None, None)
                                   for a, r in zip(rows.anime_id, rows.rating, strict=True)], ttl_seconds=3600)
        names.append(name)
    core = config.core({}, redis_url=REDIS_URL, redis_prefix=prefix, kafka_bootstrap="127.0.0.1:9")
    app = create_app(core, config.load(ApiSettings, {}, crawler_url=None))
    rounds = 20 if quick else 60

    async def measure() -> tuple[list[float], list[float], list[float], list[float], set[str]]:
        import redis.asyncio as aioredis
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        api_t, redis_t, api_cpu, redis_cpu, sources = [], [], [], [], set()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for i in range(rounds + 3):
                    for name in names:
                        t0, c0 = time.perf_counter(), time.process_time()
                        r = await http.get(f"/v1/users/{name}/recommendations?n=20")
                        t1, c1 = time.perf_counter(), time.process_time()
                        await raw.get(store.fresh_list_key(name))
                        t2, c2 = time.perf_counter(), time.process_time()
                        if i >= 3:  # the first rounds warm caches and connections
                            api_t.append(t1 - t0)
                            redis_t.append(t2 - t1)
                            api_cpu.append(c1 - c0)
                            redis_cpu.append(c2 - c1)
                            sources.add(r.json()["source"])
        await raw.aclose()
        return api_t, redis_t, api_cpu, redis_cpu, sources

    try:
        api_t, redis_t, api_cpu, redis_cpu, sources = asyncio.run(measure())
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
    if sources != {"fold_in"}:
        raise RuntimeError(f"expected fold-in answers only, got {sources}")
    note = (f"{len(names)} real users x {rounds} requests, {ENTRIES} list entries each, 50 neighbours per anime "
            f"({len(neighbours):,} anime, exported in {export_s:.1f} s at publish); target p99 <= 50 ms")
    return [
        Row("fold-in recommendations p99 (1,000-entry list)", _p(api_t, 99), "ms",
            "raw Redis GET of the same stored list p99", _p(redis_t, 99), note),
        Row("fold-in recommendations p50 (1,000-entry list)", _p(api_t, 50), "ms",
            "raw Redis GET of the same stored list p50", _p(redis_t, 50), note),
        # CPU seconds of this process per request (app and in-process client): what the wall-clock figures
        # come to on a machine that is not shared, where they are inflated by other processes' load
        Row("fold-in request CPU time p99 (1,000-entry list)", _p(api_cpu, 99), "ms",
            "raw Redis GET CPU time p99", _p(redis_cpu, 99), note),
    ]
