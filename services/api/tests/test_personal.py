"""Users outside the published batch get fold-in lists; verified feedback hides and pulls anime within a second;
forged, expired, replayed and other users' tokens change nothing; filters; the true rank in samples."""

import random
import re
import time

import pytest

from animerec.api import foldin
from animerec.api.tokens import Signer

pytestmark = pytest.mark.integration

RECS = "/v1/users/{}/recommendations"
SECRET = "test-secret-of-enough-length"


@pytest.fixture()
def world_nb(world, store):
    """The tiny world, published with item-item neighbour weights (genre overlap stands in for item-kNN)."""
    world.neighbours = {a: s[:15] for a, s in world.similar.items()}
    world.version = world.publish(store, neighbours=world.neighbours)
    return world


def entries_of(world):
    w = world
    return [[w.ids[20], "completed", 9, "2026-11-19T10:00:00Z"], [w.ids[21], "completed", None, "2026-11-01T10:00:00Z"],
            [w.ids[22], "dropped", 2, "2026-11-18T10:00:00Z"], [w.ids[23], "plan_to_watch", None, None]]


@pytest.fixture()
def api(redis_url, world_nb, make_client, kafka_bootstrap):
    with make_client(redis_url, kafka=kafka_bootstrap, version_cache_seconds=0, feedback_secret=SECRET) as c:
        yield c


def test_user_with_a_known_list_gets_fold_in_with_reasons(api, store, world_nb):
    w = world_nb
    store.put_user_list("Fresh_Fan", entries_of(w))
    body = api.get(RECS.format("Fresh_Fan"), params={"n": 10}).json()
    assert body["source"] == "fold_in" and body["version"] == w.version and body["crawl"] == "done"
    listed = {e[0] for e in entries_of(w)}
    ids = [i["anime_id"] for i in body["items"]]
    weights = foldin.seed_weights(entries_of(w))
    expected = foldin.score(weights, {a: ([x for x, _ in s], [y for _, y in s]) for a, s in w.neighbours.items()},
                            listed, 10)
    assert ids == [a for a, _, _ in expected] and not set(ids) & listed
    assert [i["rank"] for i in body["items"]] == list(range(1, len(ids) + 1))
    titles = {w.by_id[a]["title"] for a in listed}
    assert all(i["reason"].startswith("because you watched ") and i["reason"][20:] in titles for i in body["items"])
    assert body["feedback_token"].startswith("t1.")


def test_fold_in_can_be_taken_out_of_the_chain(redis_url, store, world_nb, make_client):
    store.put_user_list("Fresh_Fan", entries_of(world_nb))
    with make_client(redis_url, sources=["recent_completed", "popular"]) as c:
        assert c.get(RECS.format("Fresh_Fan")).json()["source"] == "recent_completed"


def feedback(api, user, anime_id, action, token=None):
    body = {"user": user, "anime_id": anime_id, "action": action}
    if token is not None:
        body["token"] = token
    return api.post("/v1/feedback", json=body)


def test_verified_dislike_hides_the_anime_within_a_second(api, world_nb):
    first = api.get(RECS.format("Xinil"), params={"n": 5}).json()
    top = first["items"][0]["anime_id"]
    started = time.monotonic()
    r = feedback(api, "Xinil", top, "dislike", first["feedback_token"])
    assert r.status_code == 202 and r.json()["applied"] is True, r.text
    after = api.get(RECS.format("Xinil"), params={"n": 5}).json()
    assert time.monotonic() - started < 1.0
    assert top not in [i["anime_id"] for i in after["items"]] and len(after["items"]) == 5
    # the next anime moves up; ranks are the positions the user sees
    assert after["items"][0]["anime_id"] == first["items"][1]["anime_id"] and after["items"][0]["rank"] == 1
    # hidden on every source: a like undoes it
    again = api.get(RECS.format("Xinil"), params={"n": 5}).json()
    assert feedback(api, "Xinil", top, "like", again["feedback_token"]).json()["applied"] is True
    assert top in [i["anime_id"] for i in api.get(RECS.format("Xinil"), params={"n": 5}).json()["items"]]


def test_a_like_pulls_similar_anime_up_in_fold_in(api, store, world_nb):
    w = world_nb
    store.put_user_list("Liker", entries_of(w))
    before = api.get(RECS.format("Liker"), params={"n": 30}).json()
    liked = before["items"][-1]["anime_id"]
    assert feedback(api, "Liker", liked, "like", before["feedback_token"]).json()["applied"] is True
    after = api.get(RECS.format("Liker"), params={"n": 30}).json()
    neighbours = {a for a, _ in w.neighbours[liked]}
    rank_before = {i["anime_id"]: i["rank"] for i in before["items"]}
    rank_after = {i["anime_id"]: i["rank"] for i in after["items"]}
    moved = [a for a in neighbours if a in rank_before and a in rank_after]
    assert moved and sum(rank_after[a] for a in moved) < sum(rank_before[a] for a in moved)
    assert liked not in rank_after  # liked is now on the list the user has told us about
    assert any(i["reason"].startswith("because you liked ") for i in after["items"])


@pytest.mark.parametrize("kind", ["missing", "forged", "expired", "other_user", "malformed"])
def test_feedback_without_a_valid_token_is_recorded_and_changes_nothing(api, kind):
    first = api.get(RECS.format("Xinil"), params={"n": 5}).json()
    top = first["items"][0]["anime_id"]
    good = first["feedback_token"]
    token = {"missing": None,
             "forged": Signer("another-secret-of-enough-length", 3600).issue("Xinil", first["version"], "model"),
             "expired": Signer(SECRET, 60).issue("Xinil", first["version"], "model", now=time.time() - 3600),
             "other_user": api.get(RECS.format("bob_2")).json()["feedback_token"],
             "malformed": good[:-5] + "AAAAA"}[kind]
    r = feedback(api, "Xinil", top, "dislike", token)
    assert r.status_code == 202 and r.json()["applied"] is False
    assert r.json()["token"] == ("forged" if kind == "malformed" else kind)
    assert [i["anime_id"] for i in api.get(RECS.format("Xinil"), params={"n": 5}).json()["items"]] == \
        [i["anime_id"] for i in first["items"]]
    metrics = api.get("/metrics").text
    assert 'animerec_api_online_events_total{event="dislike",source="unverified",version="unknown"} 1.0' in metrics


def test_a_replayed_token_changes_nothing_the_second_time(api):
    first = api.get(RECS.format("Xinil"), params={"n": 5}).json()
    a, b = first["items"][0]["anime_id"], first["items"][1]["anime_id"]
    token = first["feedback_token"]
    assert feedback(api, "Xinil", a, "like", token).json()["applied"] is True
    replay = feedback(api, "Xinil", a, "like", token).json()
    assert replay["applied"] is False and replay["token"] == "replayed"
    assert feedback(api, "Xinil", b, "dislike", token).json()["applied"] is True  # one token, one answer's cards


def test_online_metrics_by_version_and_source(api, world_nb):
    body = api.get(RECS.format("Xinil"), params={"n": 4}).json()
    feedback(api, "Xinil", body["items"][0]["anime_id"], "click", body["feedback_token"])
    text = api.get("/metrics").text
    v = world_nb.version
    assert f'animerec_api_online_events_total{{event="impression",source="model",version="{v}"}} 4.0' in text
    assert f'animerec_api_online_events_total{{event="click",source="model",version="{v}"}} 1.0' in text


def test_feedback_is_rate_limited_per_user(redis_url, world_nb, make_client, kafka_bootstrap):
    with make_client(redis_url, kafka=kafka_bootstrap, feedback_rate_per_user=3, feedback_secret=SECRET) as c:
        if time.time() % 60 > 55:
            time.sleep(60 - time.time() % 60 + 0.1)
        codes = [feedback(c, "bob_2", 1, "click").status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        assert feedback(c, "Xinil", 1, "click").status_code == 202  # another user is not limited


def test_sampled_answers_keep_the_true_rank(redis_url, world_nb, make_client):
    with make_client(redis_url, rng=random.Random(3)) as c:
        top = c.get(RECS.format("Xinil"), params={"n": 20}).json()["items"]
        rank_of = {i["anime_id"]: i["rank"] for i in top}
        for _ in range(5):
            sample = c.get(RECS.format("Xinil"), params={"n": 20, "sample": 5}).json()["items"]
            assert [i["rank"] for i in sample] == [rank_of[i["anime_id"]] for i in sample]
            assert max(i["rank"] for i in sample) > 5 or len(set(rank_of.values())) <= 5


def test_filters_apply_to_the_long_list(client, published):
    w = published
    everything = client.get(RECS.format("Xinil"), params={"n": 100}).json()["items"]
    tv = client.get(RECS.format("Xinil"), params={"n": 5, "type": "TV"}).json()
    assert tv["filters"]["type"] == ["tv"]
    assert [i["anime_id"] for i in tv["items"]] == [i["anime_id"] for i in everything if i["type"] == "TV"][:5]
    genre = w.cards[everything[0]["anime_id"]]["genres"][0]
    both = client.get(RECS.format("Xinil"), params={"n": 50, "genres": f"{genre},Comedy", "genres_mode": "all"})
    for item in both.json()["items"]:
        assert genre in item["genres"] and "Comedy" in item["genres"]
    anyof = client.get(RECS.format("Xinil"), params={"n": 50, "genres": f"{genre},Comedy"}).json()["items"]
    assert all(genre in i["genres"] or "Comedy" in i["genres"] for i in anyof)
    assert len(anyof) >= len(both.json()["items"])


def test_filters_that_leave_nothing_give_a_clear_empty_answer(client):
    paths = (RECS.format("Xinil"), RECS.format("Nobody_Here"), "/v1/trending", "/v1/anime/1/similar")
    for path, query in [(p, q) for p in paths for q in ({"genres": "NoSuchGenre"},
                                                        {"year_from": "2020", "year_to": "2010"})]:
        r = client.get(path, params=query)
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            assert r.json()["items"] == [] and "Nothing matches" in r.json()["message"]


@pytest.mark.parametrize("query, code", [
    ({"type": "Cartoon"}, "bad_type"), ({"genres_mode": "some"}, "bad_genres_mode"),
    ({"year_from": "1800"}, "bad_year_from"), ({"max_episodes": "0"}, "bad_max_episodes"),
    ({"include_adult": "maybe"}, "bad_include_adult"), ({"status": "airing,paused"}, "bad_status"),
    ({"genres": ",".join(["g"] * 21)}, "bad_genres")])
def test_bad_filters_are_a_400(client, query, code):
    r = client.get(RECS.format("Xinil"), params=query)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_adult_titles_need_an_explicit_opt_in(redis_url, store, world, make_client):
    adult = world.ids[40]
    world.cards[adult] = {**world.cards[adult], "genres": ["Hentai"]}
    world.user_recs["bob_2"] = [(adult, 0.9), *world.user_recs["bob_2"]]
    world.publish(store)
    with make_client(redis_url) as c:
        plain = [i["anime_id"] for i in c.get(RECS.format("bob_2")).json()["items"]]
        opted = [i["anime_id"] for i in c.get(RECS.format("bob_2"), params={"include_adult": "true"}).json()["items"]]
    assert adult not in plain and opted[0] == adult


def test_ab_split_by_a_stable_hash_of_the_name(redis_url, store, world, make_client):
    first = world.publish(store, version="va")
    world.user_recs = {u: list(reversed(r)) for u, r in world.user_recs.items()}
    second = world.publish(store, version="vb", grace_seconds=3600)  # va stays readable: the A/B arm
    assert store.redis.get(store.live_key) == second
    names = [f"someone_{i}" for i in range(200)] + ["Xinil", "bob_2"]
    with make_client(redis_url, ab_version=first, ab_share=0.3) as c:
        versions = {n: c.get(RECS.format(n), params={"n": 3}).json()["version"] for n in names}
        again = {n: c.get(RECS.format(n.upper()), params={"n": 3}).json()["version"] for n in names}
        xinil = c.get(RECS.format("Xinil"), params={"n": 3}).json()
    assert versions == again  # stable per user (names are case-insensitive)
    share = sum(v == first for v in versions.values()) / len(versions)
    assert 0.2 < share < 0.4 and set(versions.values()) == {first, second}
    expected = [a for a, *_ in (world.user_recs["Xinil"] if versions["Xinil"] == second
                                else reversed(world.user_recs["Xinil"])) if a not in world.seen["Xinil"]][:3]
    assert [i["anime_id"] for i in xinil["items"]] == expected


def test_page_shows_filter_chips_and_carries_a_token(api):
    page = api.get("/", params={"user": "Xinil", "type": "TV"})
    assert page.status_code == 200
    assert 'class="chip on" href="/?user=Xinil"' in page.text  # the TV chip is on; its link turns it off
    assert 'href="/?user=Xinil&amp;type=TV%2CMovie"' in page.text  # chips of one parameter combine
    token = re.search(r'data-token="([^"]+)"', page.text).group(1)
    top = int(re.search(r'data-anime-id="(\d+)"', page.text).group(1))
    r = feedback(api, "Xinil", top, "dislike", token)
    assert r.json()["applied"] is True
    assert f'data-anime-id="{top}"' not in api.get("/", params={"user": "Xinil", "type": "TV"}).text
