import threading
import time

import pytest

from animerec.common import cache
from animerec.common.recstore import NoLiveVersion, Rec, RecStore, VersionGone

pytestmark = pytest.mark.integration


@pytest.fixture()
def store(redis_url):
    client = cache.client(redis_url)
    yield RecStore(client, "t:")
    client.close()


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


def test_before_first_publish(store):
    assert store.live_version() is None
    with pytest.raises(NoLiveVersion):
        store.user_recs("alice")


def test_publish_and_read_every_part(store):
    version = store.publish(**world(), version="v1")
    assert version == "v1" and store.live_version() == "v1"
    # names are case-insensitive; seen anime are dropped at publish time
    assert store.user_recs("alice") == [Rec(10, 0.9, "because you completed A"), Rec(2, 0.8, None)]
    assert store.user_recs("ALICE", 1) == [Rec(10, 0.9, "because you completed A")]
    assert store.user_recs("nobody") is None
    assert store.seen("Alice") == {3, 99}
    assert store.seen("nobody") == set()
    assert store.similar(1) == [(2, 0.9), (3, 0.5)]
    assert store.similar(1, 1) == [(2, 0.9)]
    assert store.similar(5) is None
    cards = store.cards([1, 2, 777])
    assert set(cards) == {1, 2} and cards[1]["title"] == "Anime 1 v0" and cards[2]["genres"] == ["Action"]
    assert store.popular(2) == [10, 1]
    assert store.trending() == [10, 3]
    view = store.view()
    recs, seen = view.user("Alice", 5)
    assert [r.anime_id for r in recs] == [10, 2] and seen == {3, 99}
    assert view.meta()["users"] == "2"
    assert view.similar_many([1, 2, 5]) == {1: [(2, 0.9), (3, 0.5)], 2: [(1, 0.9)]}


def test_switch_retires_previous_version_after_grace(store):
    store.publish(**world(0), version="v1")
    store.publish(**world(1), version="v2", grace_seconds=100)
    r = store.redis
    assert store.live_version() == "v2"
    assert r.ttl(store.version_key("v2", "users")) == -1  # the live version never expires
    assert 0 < r.ttl(store.version_key("v1", "users")) <= 100
    assert store.view("v1").popular() == [10, 1, 2]  # still readable during the grace period
    store.publish(**world(2), version="v3", grace_seconds=0)
    assert not r.exists(store.version_key("v2", "users"))
    with pytest.raises(VersionGone):
        store.view("v2").user_recs("alice")
    assert r.lrange(store.history_key, 0, -1) == ["v3", "v2", "v1"]


def test_republishing_the_same_version_is_refused(store):
    store.publish(**world(), version="v1")
    with pytest.raises(ValueError, match="already exists"):
        store.publish(**world(), version="v1")
    with pytest.raises(ValueError, match="bad version"):
        store.publish(**world(), version="a:b")


def test_half_written_version_is_invisible_and_expires(store):
    store.publish(**world(0), version="v1")
    # a publisher that died after writing part of v2: nothing points at it and it carries a TTL
    store._write_hash(store.version_key("v2", "users"), [("alice", "[[5,1.0,null]]")])
    assert store.live_version() == "v1"
    assert store.user_recs("alice")[0].anime_id == 10
    assert store.redis.ttl(store.version_key("v2", "users")) > 0


def test_large_publish_is_chunked(store):
    users = {f"user{i}": [(j + 1, 1.0 / (j + 1)) for j in range(20)] for i in range(3000)}
    version = store.publish(users, {}, {}, [], [], {}, version="big")
    assert store.view(version).meta()["users"] == "3000"
    assert store.redis.hlen(store.version_key("big", "users")) == 3000
    assert store.user_recs("user2999", 3) == [Rec(1, 1.0), Rec(2, 0.5), Rec(3, 1 / 3)]


@pytest.mark.parametrize("grace", [0, 30])
def test_readers_never_see_a_mix_of_versions(redis_url, grace):
    """A reader thread runs while versions are published back to back (grace 0 deletes the old one at once)."""
    writer = RecStore(cache.client(redis_url), "t:")
    reader = RecStore(cache.client(redis_url), "t:", version_cache_seconds=0.01)
    writer.publish(**world(0))
    stop = threading.Event()
    reads, problems = [], []

    def read_forever():
        while not stop.is_set():
            def one(view):
                recs, _ = view.user("alice")
                marker = recs[0].anime_id - 10
                cards = view.cards([r.anime_id for r in recs])
                return marker, view.popular()[0] - 10, view.trending()[0] - 10, \
                    view.similar(100)[0][0] - 10, cards[recs[0].anime_id]["title"]
            try:
                marker, pop, trend, sim, title = reader.read(one)
            except Exception as exc:  # any error is a failure of the contract
                problems.append(repr(exc))
                continue
            reads.append(marker)
            if not (marker == pop == trend == sim) or title != f"Anime {10 + marker} v{marker}":
                problems.append((marker, pop, trend, sim, title))

    thread = threading.Thread(target=read_forever)
    thread.start()
    try:
        for i in range(1, 25):
            writer.publish(**world(i), grace_seconds=grace)
            time.sleep(0.005)
    finally:
        time.sleep(0.05)
        stop.set()
        thread.join(10)
    assert not problems, problems[:5]
    assert len(reads) > 20 and len(set(reads)) > 3, "the reader should have seen several versions"
    assert reads == sorted(reads), "versions only move forward"


def test_async_reader_matches_sync_layout(redis_url, store):
    import asyncio

    import redis.asyncio as aioredis

    from animerec.common.recstore import AsyncRecStore

    store.publish(**world(0), version="v1")

    async def scenario():
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        reader = AsyncRecStore(client, "t:", version_cache_seconds=60)
        try:
            view = await reader.view()
            recs, seen = await view.user("ALICE", 1)
            assert view.version == "v1" and recs == [Rec(10, 0.9, "because you completed A")] and seen == {3, 99}
            assert await view.similar_many([1, 5]) == {1: [(2, 0.9), (3, 0.5)]}
            assert (await view.cards([2]))[2]["title"] == "Anime 2 v0"
            assert await view.lists() == ([10, 1, 2], [10, 3])
            # v1 is deleted by the next publish (grace 0); the cached version id must not leak through
            store.publish(**world(1), version="v2", grace_seconds=0)
            for read in (view.popular(), view.user_recs("alice"), view.cards([1]), view.similar_many([1])):
                with pytest.raises(VersionGone):
                    await read
            assert await reader.read(lambda v: v.popular(1)) == [11]
            await reader.put_user_list("NewUser", [(5, "completed", 9, "2026-01-01T00:00:00Z"), (6, "watching")])
            fresh = await reader.user_list("newuser")
            assert fresh["entries"] == [[5, "completed", 9, "2026-01-01T00:00:00Z"], [6, "watching", None, None]]
            assert store.user_list("newuser") == fresh
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_missing_card_values_are_null_and_neighbours_round_trip(store):
    import orjson
    store.publish({}, {}, {1: {"title": "A", "age_rating": float("nan")}}, [1], [1], {},
                  neighbours={1: [(2, 0.5), (3, 0.25)]})
    view = store.view()
    raw = store.redis.hget(view.key("cards"), "1")
    assert orjson.loads(raw) == {"title": "A", "age_rating": None}  # strict JSON: NaN would break every reader
    assert orjson.loads(store.redis.hget(view.key("neighbours"), "1")) == [[2, 3], [0.5, 0.25]]
    assert store.redis.hget(view.key("meta"), "neighbours") == "1"
