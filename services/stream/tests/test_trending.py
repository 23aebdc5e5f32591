"""The trending writer against real Redis: it writes into the version `animerec publish` made live (read back
through the API's own reader), never into an expired one, and never goes back to an older window."""

from __future__ import annotations

import json

import pytest
import redis

from animerec.common import cache
from animerec.common.recstore import RecStore
from animerec.devkit import published
from animerec.stream.trending import TrendingWriter

pytestmark = pytest.mark.integration
PREFIX = "t:"


def publish(redis_url: str, version: str) -> None:
    client = cache.client(redis_url)
    cards = {a: {"title": f"Anime {a}", "genres": genres} for a, genres in ((1, ["Action"]), (2, ["Drama"]))}
    RecStore(client, PREFIX).publish(user_recs={}, similar={}, cards=cards, popular=[1, 2], trending=[2, 1],
                                     seen={}, version=version)
    client.close()


def trending(redis_url: str) -> list[int]:
    return published.read_live(redis_url, PREFIX, lambda view: view.trending())


@pytest.fixture()
def writer(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    yield TrendingWriter(client, PREFIX, top_n=10, genre_top_n=5)
    client.close()


def test_a_window_replaces_the_live_versions_trending_list_and_an_older_one_is_ignored(redis_url, writer):
    publish(redis_url, "v1")
    assert writer.live_catalogue() == {1: ["Action"], 2: ["Drama"]}
    assert writer.write(2_000, {1: 3.0, 2: 1.0, 7: 0.0}, "2026-01-01T00:00:02Z", {1: ["Action"], 2: ["Drama"]})
    assert trending(redis_url) == [1, 2]
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert r.hgetall(f"{PREFIX}rec:stream:trending:meta") == {
        "window_end_ms": "2000", "updated_at": "2026-01-01T00:00:02Z", "version": "v1", "items": "2"}
    assert {g: json.loads(v) for g, v in r.hgetall(f"{PREFIX}rec:stream:trending:genres").items()} == {
        "Action": [1], "Drama": [2]}

    assert not writer.write(1_000, {2: 5.0}, "2026-01-01T00:00:01Z")  # an older window (a late replay)
    assert trending(redis_url) == [1, 2]
    assert writer.write(3_000, {2: 5.0}, "2026-01-01T00:00:03Z")
    assert trending(redis_url) == [2]
    assert r.hgetall(f"{PREFIX}rec:stream:trending:genres") == {}
    r.close()


def test_nothing_published_or_an_expired_live_version_gets_no_list(redis_url, writer):
    assert writer.live_catalogue() is None
    assert writer.write(1_000, {1: 1.0}, "2026-01-01T00:00:01Z")
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert r.keys(f"{PREFIX}rec:v:*") == []
    publish(redis_url, "v1")
    r.delete(f"{PREFIX}rec:v:v1:meta")  # the marker gone: the version expired under the writer
    assert writer.write(2_000, {1: 1.0}, "2026-01-01T00:00:02Z")
    assert json.loads(r.get(f"{PREFIX}rec:v:v1:trending")) == [2, 1]  # untouched: what publish wrote
    assert r.hget(f"{PREFIX}rec:stream:trending:meta", "window_end_ms") == "2000"
    r.close()
