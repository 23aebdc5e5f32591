"""A tiny published world built from real MyAnimeList catalogue rows, and app clients over it."""

from __future__ import annotations

import csv
import html
import random
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from animerec.api.app import create_app
from animerec.api.settings import ApiSettings
from animerec.common import cache, config
from animerec.common.recstore import RecStore

DATA = Path(__file__).resolve().parent / "data" / "anime_sample.csv"
# Port 9 (discard) is closed here: a Kafka address for tests that must not reach a broker.
NO_KAFKA = "127.0.0.1:9"


def catalogue() -> list[dict]:
    with DATA.open(newline="") as f:
        return [{"anime_id": int(r["anime_id"]), "title": html.unescape(r["name"]),
                 "genres": [g.strip() for g in r["genre"].split(",") if g.strip()], "type": r["type"],
                 "score": float(r["rating"]), "members": int(r["members"]), "main_pic": r["image_url"],
                 "url": f"https://myanimelist.net/anime/{r['anime_id']}"} for r in csv.DictReader(f)]


class World:
    """What a batch run would publish for 60 anime and three users."""

    def __init__(self) -> None:
        self.anime = catalogue()
        self.ids = [a["anime_id"] for a in self.anime]
        self.by_id = {a["anime_id"]: a for a in self.anime}
        self.cards = {a["anime_id"]: {k: a[k] for k in ("title", "main_pic", "score", "genres", "url", "type")}
                      for a in self.anime}
        self.similar = {}
        for a in self.anime:  # genre overlap stands in for the model's item-item similarity
            ga = set(a["genres"])
            sims = [(b["anime_id"], len(ga & set(b["genres"])) / len(ga | set(b["genres"])))
                    for b in self.anime if b["anime_id"] != a["anime_id"]]
            self.similar[a["anime_id"]] = sorted((s for s in sims if s[1] > 0), key=lambda s: -s[1])[:20]
        self.popular = [a["anime_id"] for a in sorted(self.anime, key=lambda a: -a["members"])]
        self.trending = self.ids[10:30]
        seen_xinil = set(self.ids[:5])
        rng = random.Random(7)
        ranked = [i for i in self.ids if i not in seen_xinil]
        rng.shuffle(ranked)
        first = self.by_id[self.ids[0]]["title"]
        # The model's list deliberately includes two anime Xinil has seen: readers must never return them.
        self.user_recs = {
            "Xinil": [(a, 1.0 - k / 100, f"because you completed {first}" if k % 2 == 0 else None)
                      for k, a in enumerate([self.ids[0], *ranked[:30], self.ids[1]])],
            "bob_2": [(a, 0.5) for a in ranked[:3]],
        }
        self.seen = {"Xinil": seen_xinil, "bob_2": set()}

    def publish(self, store: RecStore, version: str = "v1", **kwargs) -> str:
        return store.publish(self.user_recs, self.similar, self.cards, self.popular, self.trending, self.seen,
                             version=version, **kwargs)


@pytest.fixture()
def world() -> World:
    return World()


@pytest.fixture()
def store(redis_url):
    client = cache.client(redis_url)
    yield RecStore(client, "animerec:")
    client.close()


@pytest.fixture()
def published(world, store) -> World:
    world.version = world.publish(store)
    return world


def new_client(redis_url: str, kafka: str = NO_KAFKA, **settings) -> TestClient:
    """A TestClient over a fresh app; use it as a context manager so the lifespan runs."""
    core = config.core({}, redis_url=redis_url, kafka_bootstrap=kafka)
    transport = settings.pop("crawler_transport", None)
    producer_factory = settings.pop("producer_factory", None)
    rng = settings.pop("rng", None)
    api_settings = config.load(ApiSettings, {}, **settings)
    app = create_app(core, api_settings, crawler_transport=transport, producer_factory=producer_factory, rng=rng)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def make_client():
    return new_client


@pytest.fixture()
def client(redis_url, published):
    with new_client(redis_url, version_cache_seconds=0) as c:
        yield c


class LiveServer:
    """The app under real uvicorn (httptools, asyncio) on a free port, in a background thread."""

    def __init__(self, app) -> None:
        import socket

        import uvicorn
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    http="httptools", lifespan="on", server_header=False))

    def __enter__(self) -> LiveServer:
        import threading
        import time
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="module")
def live_api(_redis_db, kafka_bootstrap):
    """A published world in this session's Redis database and the API serving it over real HTTP (module-wide:
    tests using it must not also take the per-test `redis_url` fixture, which flushes the database)."""
    from animerec.devkit.fixtures import REDIS_SERVER
    url = f"{REDIS_SERVER}/{_redis_db}"
    client = cache.client(url)
    client.flushdb()
    world = World()
    world.version = world.publish(RecStore(client, "animerec:"))
    core = config.core({}, redis_url=url, kafka_bootstrap=kafka_bootstrap)
    app = create_app(core, config.load(ApiSettings, {}, version_cache_seconds=0.5))
    try:
        with LiveServer(app) as server:
            server.world = world
            yield server
    finally:
        client.flushdb()
        client.close()
