"""The in-process card cache: loaded whole at start-up and on a version switch, so requests rarely go to Redis for
cards, and moved out of the garbage collector's way once loaded (that was the API's tail latency)."""

from __future__ import annotations

import gc
import time

RECS = "/v1/users/{}/recommendations"


def card_lookups(client) -> dict[str, float]:
    found = {"hit": 0.0, "miss": 0.0}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('animerec_api_cache_lookups_total{cache="cards"'):
            found[line.split('result="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return found


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_start_up_loads_every_card_and_freezes_the_heap(redis_url, published, make_client):
    with make_client(redis_url) as c:
        cache = c.app.state.services.recommender.card_cache
        assert cache.complete and cache.version == "v1" and set(cache.cards) == set(published.cards)
        assert gc.get_freeze_count() > 0
        body = c.get(RECS.format("Xinil")).json()
        assert [i["title"] for i in body["items"]] == [published.cards[i["anime_id"]]["title"] for i in body["items"]]
        # a complete cache knows the rest have no card: unknown anime cost no Redis round trip
        assert c.get("/v1/anime/999999").status_code == 404
        assert card_lookups(c)["miss"] == 0
    assert gc.get_freeze_count() == 0  # shutdown hands the heap back to the collector


def test_a_new_version_is_loaded_in_the_background(redis_url, published, store, make_client):
    with make_client(redis_url, version_cache_seconds=0) as c:
        first = published.ids[0]
        published.cards[first] = {**published.cards[first], "title": "Renamed in v2"}
        published.publish(store, version="v2")
        assert c.get(f"/v1/anime/{first}").json()["title"] == "Renamed in v2"  # never a v1 card for v2
        cache = c.app.state.services.recommender.card_cache
        wait_for(lambda: cache.complete)
        assert cache.version == "v2" and len(cache.cards) == len(published.cards)
        assert cache.cards[first]["title"] == "Renamed in v2"


def test_a_cache_smaller_than_the_catalogue_fetches_the_rest(redis_url, published, make_client):
    with make_client(redis_url, card_cache_size=10) as c:
        cache = c.app.state.services.recommender.card_cache
        assert not cache.complete and len(cache.cards) == 10
        outside = next(a for a in published.ids if a not in cache.cards)
        r = c.get(f"/v1/anime/{outside}")
        assert r.status_code == 200 and r.json()["title"] == published.cards[outside]["title"]
        assert card_lookups(c)["miss"] == 1 and len(cache.cards) == 10


def test_no_cache_at_all_still_answers(redis_url, published, make_client):
    with make_client(redis_url, card_cache_size=0) as c:
        body = c.get(RECS.format("Xinil")).json()
        assert body["items"] and all(i["title"] == published.cards[i["anime_id"]]["title"] for i in body["items"])
        assert c.app.state.services.recommender.card_cache.cards == {}
