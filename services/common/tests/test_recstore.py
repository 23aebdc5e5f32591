import json
import threading
import time

import pytest

from animerec.common import cache
from animerec.common.recstore import NoLiveVersion, Rec, RecStore, VersionGone
from animerec.devkit import published

pytestmark = pytest.mark.integration


@pytest.fixture()
def store(redis_url):
    client = cache.client(redis_url)
    yield RecStore(client, "t:")
    client.close()


def read(redis_url, fn, **options):
    """`await fn(reader)` with the API's reader (AsyncRecStore over redis.asyncio) on a fresh event loop."""
    return published.read(redis_url, "t:", fn, **options)


def live(store):
    return store.redis.get(store.live_key)


def world(i: int = 0):
    """A tiny publish whose every part carries the marker `i`, so a reader can tell versions apart."""
    user_recs = {"Alice": [(10 + i, 0.9, "because you completed A"), (2, 0.8), (3, 0.7, None)],
                 "bob": [(4, 0.5)]}
    similar = {1: [(2, 0.9), (3, 0.5)], 2: [(1, 0.9)], 100: [(10 + i, 1.0)]}
    cards = {a: {"title": f"Anime {a} v{i}", "main_pic": f"https://cdn.myanimelist.net/{a}.jpg", "score": 8.1,
                 "genres": ["Action"], "url": f"https://myanimelist.net/anime/{a}", "type": "TV"}
             for a in (1, 2, 3, 4, 10 + i)}
    return dict(user_recs=user_recs, similar=similar, cards=cards, popular=[10 + i, 1, 2], trending=[10 + i, 3],
                seen={"ALICE": {3, 99}, "bob": set()})


def test_before_first_publish(redis_url, store):
    assert live(store) is None
    with pytest.raises(NoLiveVersion):
        read(redis_url, lambda reader: reader.view())


def test_publish_and_read_every_part(redis_url, store):
    version = store.publish(**world(), version="v1")
    assert version == "v1" and live(store) == "v1"

    async def every_part(reader):
        view = await reader.view()
        # names are case-insensitive; seen anime are dropped at publish time
        assert await view.user_recs("alice") == [Rec(10, 0.9, "because you completed A"), Rec(2, 0.8, None)]
        assert await view.user_recs("ALICE", 1) == [Rec(10, 0.9, "because you completed A")]
        assert await view.user_recs("nobody") is None
        assert await view.user("Alice", 5) == ([Rec(10, 0.9, "because you completed A"), Rec(2, 0.8, None)],
                                               {3, 99})
        assert await view.user("nobody") == (None, set())
        assert await view.similar(1) == [(2, 0.9), (3, 0.5)]
        assert await view.similar(1, 1) == [(2, 0.9)]
        assert await view.similar(5) is None
        assert await view.similar_many([1, 2, 5]) == {1: [(2, 0.9), (3, 0.5)], 2: [(1, 0.9)]}
        cards = await view.cards([1, 2, 777])
        assert set(cards) == {1, 2} and cards[1]["title"] == "Anime 1 v0" and cards[2]["genres"] == ["Action"]
        assert await view.popular(2) == [10, 1]
        assert await view.trending() == [10, 3]
        assert await view.lists() == ([10, 1, 2], [10, 3])

    read(redis_url, every_part)
    assert store.redis.hget(store.version_key("v1", "meta"), "users") == "2"


def test_switch_retires_previous_version_after_grace(redis_url, store):
    store.publish(**world(0), version="v1")
    store.publish(**world(1), version="v2", grace_seconds=100)
    r = store.redis
    assert live(store) == "v2"
    assert r.ttl(store.version_key("v2", "users")) == -1  # the live version never expires
    assert 0 < r.ttl(store.version_key("v1", "users")) <= 100

    async def old_version(reader):
        return await (await reader.view("v1")).popular()

    assert read(redis_url, old_version) == [10, 1, 2]  # still readable during the grace period
    store.publish(**world(2), version="v3", grace_seconds=0)
    assert not r.exists(store.version_key("v2", "users"))

    async def gone(reader):
        return await (await reader.view("v2")).user_recs("alice")

    with pytest.raises(VersionGone):
        read(redis_url, gone)
    assert r.lrange(store.history_key, 0, -1) == ["v3", "v2", "v1"]


def test_republishing_the_same_version_is_refused(store):
    store.publish(**world(), version="v1")
    with pytest.raises(ValueError, match="already exists"):
        store.publish(**world(), version="v1")
    with pytest.raises(ValueError, match="bad version"):
        store.publish(**world(), version="a:b")


def test_half_written_version_is_invisible_and_expires(redis_url, store):
    store.publish(**world(0), version="v1")
    # a publisher that died after writing part of v2: nothing points at it and it carries a TTL
    store._write_hash(store.version_key("v2", "users"), [("alice", "[[5,1.0,null]]")])
    assert live(store) == "v1"
    assert read(redis_url, lambda reader: reader.read(lambda v: v.user_recs("alice")))[0].anime_id == 10
    assert store.redis.ttl(store.version_key("v2", "users")) > 0


def test_large_publish_is_chunked(redis_url, store):
    users = {f"user{i}": [(j + 1, 1.0 / (j + 1)) for j in range(20)] for i in range(3000)}
    version = store.publish(users, {}, {}, [], [], {}, version="big")
    assert store.redis.hget(store.version_key(version, "meta"), "users") == "3000"
    assert store.redis.hlen(store.version_key("big", "users")) == 3000
    assert read(redis_url, lambda reader: reader.read(lambda v: v.user_recs("user2999", 3))) == [
        Rec(1, 1.0), Rec(2, 0.5), Rec(3, 1 / 3)]


@pytest.mark.parametrize("grace", [0, 30])
def test_readers_never_see_a_mix_of_versions(redis_url, grace):
    """The API's reader runs while a writer thread publishes versions back to back (grace 0 deletes the old
    one at once)."""
    writer = RecStore(cache.client(redis_url), "t:")
    writer.publish(**world(0))
    stop = threading.Event()

    def publish_many():
        try:
            for i in range(1, 25):
                writer.publish(**world(i), grace_seconds=grace)
                time.sleep(0.005)
        finally:
            time.sleep(0.05)
            stop.set()

    async def read_until_stopped(reader):
        reads, problems = [], []

        async def one(view):
            recs, _ = await view.user("alice")
            marker = recs[0].anime_id - 10
            cards = await view.cards([r.anime_id for r in recs])
            popular, trending = await view.lists()
            return marker, popular[0] - 10, trending[0] - 10, (await view.similar(100))[0][0] - 10, \
                cards[recs[0].anime_id]["title"]

        while not stop.is_set():
            try:
                marker, pop, trend, sim, title = await reader.read(one)
            except Exception as exc:  # any error is a failure of the contract
                problems.append(repr(exc))
                continue
            reads.append(marker)
            if not (marker == pop == trend == sim) or title != f"Anime {10 + marker} v{marker}":
                problems.append((marker, pop, trend, sim, title))
        return reads, problems

    thread = threading.Thread(target=publish_many)
    thread.start()
    try:
        reads, problems = read(redis_url, read_until_stopped, version_cache_seconds=0.01)
    finally:
        stop.set()
        thread.join(10)
    assert not problems, problems[:5]
    assert len(reads) > 20 and len(set(reads)) > 3, "the reader should have seen several versions"
    assert reads == sorted(reads), "versions only move forward"


def test_async_reader_drops_a_cached_version_that_expired(redis_url, store):
    store.publish(**world(0), version="v1")

    async def scenario(reader):
        view = await reader.view()
        assert view.version == "v1"
        # v1 is deleted by the next publish (grace 0); the cached version id must not leak through
        store.publish(**world(1), version="v2", grace_seconds=0)
        for read_one in (view.popular(), view.user_recs("alice"), view.cards([1]), view.similar_many([1])):
            with pytest.raises(VersionGone):
                await read_one
        assert await reader.read(lambda v: v.popular(1)) == [11]
        await reader.put_user_list("NewUser", [(5, "completed", 9, "2026-01-01T00:00:00Z"), (6, "watching")])
        fresh = await reader.user_list("newuser")
        assert fresh["entries"] == [[5, "completed", 9, "2026-01-01T00:00:00Z"], [6, "watching", None, None]]
        assert json.loads(store.redis.get(store.fresh_list_key("newuser"))) == fresh

    read(redis_url, scenario, version_cache_seconds=60)


def test_missing_card_values_are_null_and_neighbours_round_trip(store):
    import orjson
    version = store.publish({}, {}, {1: {"title": "A", "age_rating": float("nan")}}, [1], [1], {},
                            neighbours={1: [(2, 0.5), (3, 0.25)]})
    raw = store.redis.hget(store.version_key(version, "cards"), "1")
    assert orjson.loads(raw) == {"title": "A", "age_rating": None}  # strict JSON: NaN would break every reader
    assert orjson.loads(store.redis.hget(store.version_key(version, "neighbours"), "1")) == [[2, 3], [0.5, 0.25]]
    assert store.redis.hget(store.version_key(version, "meta"), "neighbours") == "1"
