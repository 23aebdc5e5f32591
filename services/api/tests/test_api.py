"""The JSON API against a real Redis holding a tiny published world."""

import random
import re

import pytest

pytestmark = pytest.mark.integration

RECS = "/v1/users/{}/recommendations"
SECURITY = {"content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy",
            "strict-transport-security", "cross-origin-opener-policy"}


def test_ranked_recommendations_with_cards_and_reasons(client, published):
    r = client.get(RECS.format("Xinil"), params={"n": 50})
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "model" and body["version"] == "v1" and body["fallback"] is None
    ids = [i["anime_id"] for i in body["items"]]
    expected = [a for a, _, _ in published.user_recs["Xinil"] if a not in published.seen["Xinil"]]
    assert ids == expected and len(ids) == 30  # two seen anime in the model's list are dropped
    assert not set(ids) & published.seen["Xinil"]
    assert [i["rank"] for i in body["items"]] == list(range(1, 31))
    scores = [i["rec_score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    first = body["items"][0]
    card = published.cards[first["anime_id"]]
    assert first["title"] == card["title"] and first["picture"] == card["main_pic"]
    assert first["score"] == card["score"] and first["genres"] == card["genres"] and first["url"] == card["url"]
    reasons = [i["reason"] for i in body["items"] if i["reason"]]
    assert reasons and all(r.startswith("because you completed ") for r in reasons)


def test_names_are_case_insensitive_and_n_limits(client):
    a = client.get(RECS.format("xINIL"), params={"n": 3}).json()
    assert a["source"] == "model" and len(a["items"]) == 3
    assert len(client.get(RECS.format("Xinil")).json()["items"]) == 20  # default n


def test_sample_is_a_random_subset_of_the_top_n_in_rank_order(redis_url, published, make_client):
    with make_client(redis_url, rng=random.Random(1)) as c:
        top = [i["anime_id"] for i in c.get(RECS.format("Xinil"), params={"n": 20}).json()["items"]]
        draws = []
        for _ in range(8):
            items = c.get(RECS.format("Xinil"), params={"n": 20, "sample": 5}).json()["items"]
            ids = [i["anime_id"] for i in items]
            assert len(ids) == 5 and set(ids) <= set(top)
            assert [i["rank"] for i in items] == sorted(i["rank"] for i in items)
            draws.append(tuple(ids))
        assert len(set(draws)) > 1, "samples should vary"
        assert len(c.get(RECS.format("bob_2"), params={"sample": 5}).json()["items"]) == 3  # fewer than asked
        assert [i["anime_id"] for i in c.get(RECS.format("Xinil"), params={"n": 4, "sample": 9}).json()["items"]] \
            == top[:4]  # a sample larger than n is all n


def test_samples_spread_over_franchises(redis_url, world, store, make_client):
    # the first twelve of Xinil's top 20 belong to one franchise (as published cards carry it)
    top = [a for a, _, _ in world.user_recs["Xinil"] if a not in world.seen["Xinil"]][:20]
    series = top[:12]
    for a in series:
        world.cards[a]["franchise"] = min(series)
    world.publish(store)
    with make_client(redis_url, rng=random.Random(2)) as c:
        ranked = c.get(RECS.format("Xinil"), params={"n": 20}).json()["items"]
        assert [i["anime_id"] for i in ranked] == top  # the ranked list itself is untouched
        assert [i["franchise"] for i in ranked[:12]] == [min(series)] * 12 and ranked[12]["franchise"] == top[12]
        for _ in range(20):
            items = c.get(RECS.format("Xinil"), params={"n": 20, "sample": 5}).json()["items"]
            assert len({i["franchise"] for i in items}) == 5
    with make_client(redis_url, rng=random.Random(2), sample_per_franchise=0) as c:
        repeats = [len({i["franchise"] for i in c.get(RECS.format("Xinil"), params={"n": 20, "sample": 5})
                        .json()["items"]}) for _ in range(20)]
        assert min(repeats) < 5  # a plain random sample: the series often takes two or more of the five


def test_unknown_user_gets_labelled_fallback_without_crawler(client, published):
    body = client.get(RECS.format("Nobody_Here"), params={"n": 5}).json()
    # the default chain: fold_in, recent_completed (nothing known of this user), then trending
    assert body["source"] == "fallback" and body["fallback"] == "trending" and body["crawl"] == "disabled"
    assert [i["anime_id"] for i in body["items"]] == published.trending[:5]
    assert "Nobody_Here" in body["message"]
    assert all(i["rec_score"] is None and i["reason"] is None for i in body["items"])


def test_fallback_chain_is_configuration(redis_url, published, make_client):
    with make_client(redis_url, sources=["popular", "trending"]) as c:
        body = c.get(RECS.format("Nobody_Here"), params={"n": 4}).json()
    assert body["fallback"] == "popular" and [i["anime_id"] for i in body["items"]] == published.popular[:4]


def test_anime_similar_trending(client, published):
    aid = published.ids[1]
    r = client.get(f"/v1/anime/{aid}")
    assert r.status_code == 200 and r.json()["title"] == published.cards[aid]["title"]
    sim = client.get(f"/v1/anime/{aid}/similar", params={"n": 4}).json()
    assert [i["anime_id"] for i in sim["items"]] == [a for a, _ in published.similar[aid][:4]]
    assert all(i["title"] for i in sim["items"])
    trend = client.get("/v1/trending", params={"n": 3}).json()
    assert trend["source"] == "trending" and [i["anime_id"] for i in trend["items"]] == published.trending[:3]
    assert client.get("/v1/anime/999999").json()["error"]["code"] == "unknown_anime"
    assert client.get("/v1/anime/999999/similar").status_code == 404


@pytest.mark.parametrize("path, code", [
    (RECS.format("a"), "bad_user_name"),
    (RECS.format("a_name_of_thirty_three_characters"), "bad_user_name"),  # the schemas allow 2-32
    (RECS.format("Xinil") + "?n=0", "bad_n"),
    (RECS.format("Xinil") + "?n=101", "bad_n"),
    (RECS.format("Xinil") + "?n=abc", "bad_n"),
    (RECS.format("Xinil") + "?sample=0", "bad_sample"),
    ("/v1/anime/abc", "bad_anime_id"),
    ("/v1/anime/0/similar", "bad_anime_id"),
    ("/v1/anime/1/similar?n=-3", "bad_n"),
    ("/v1/trending?n=1000000000000000000000", "bad_n"),
])
def test_bad_input_is_a_json_400(client, path, code):
    r = client.get(path)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    assert SECURITY <= set(r.headers)


def test_unknown_routes_and_methods_are_json_4xx(client):
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.delete("/v1/trending")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/", "/?user=Xinil", "/docs", "/openapi.json", "/healthz", "/metrics",
                                  "/static/style.css", "/static/missing.js", "/v1/trending", "/nope"])
def test_security_headers_everywhere(client, path):
    r = client.get(path)
    assert r.status_code < 500
    assert SECURITY <= set(r.headers), path
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["//evil.example/", "/v1/trending/", "//evil.example/%2e%2e", "/\\evil.example",
                                  "/?user=Xinil&next=https://evil.example", "/static//evil.example"])
def test_no_redirects_at_all(client, path):
    r = client.get(path, follow_redirects=False)
    assert not 300 <= r.status_code < 400 and "location" not in r.headers
    assert r.status_code < 500


def test_redis_down_is_503_with_retry_after(make_client):
    with make_client("redis://127.0.0.1:1/0", redis_timeout_seconds=0.2, retry_after_seconds=7) as c:
        for path in (RECS.format("Xinil"), "/v1/anime/1", "/v1/trending"):
            r = c.get(path)
            assert r.status_code == 503 and r.headers["retry-after"] == "7"
            assert r.json()["error"]["code"] == "store_unavailable"
        page = c.get("/?user=Xinil")
        assert page.status_code == 503 and "unavailable right now" in page.text
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unreachable")
        assert c.get("/healthz").status_code == 200  # alive, just not ready
        assert c.get(RECS.format("x")).status_code == 400  # bad input is still the caller's fault


def test_nothing_published_yet(redis_url, make_client):
    with make_client(redis_url) as c:
        r = c.get(RECS.format("Xinil"))
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_published" and "retry-after" in r.headers


def test_new_version_is_served_after_publish(client, published, store):
    assert client.get("/v1/trending").json()["version"] == "v1"
    published.trending = published.ids[40:45]
    published.publish(store, version="v2")
    body = client.get("/v1/trending").json()
    assert body["version"] == "v2" and [i["anime_id"] for i in body["items"]] == published.ids[40:45]


def test_cached_version_id_survives_the_old_version_disappearing(redis_url, published, store, make_client):
    with make_client(redis_url, version_cache_seconds=60) as c:
        assert c.get("/v1/trending").json()["version"] == "v1"
        published.publish(store, version="v2", grace_seconds=0)  # v1 deleted at once
        assert c.get("/v1/trending").json()["version"] == "v2"


def test_metrics_count_routes_statuses_fallbacks_and_cache(client):
    client.get(RECS.format("Xinil"))
    client.get(RECS.format("Xinil"))
    client.get(RECS.format("Nobody_Here"))
    client.get(RECS.format("x"))
    text = client.get("/metrics").text
    route = 'route="/v1/users/{name}/recommendations"'
    assert f'animerec_api_requests_total{{method="GET",{route},status="200"}} 3.0' in text
    assert f'animerec_api_requests_total{{method="GET",{route},status="400"}} 1.0' in text
    assert f'animerec_api_request_duration_seconds_count{{method="GET",{route}}} 4.0' in text
    assert 'animerec_api_fallbacks_total{kind="trending"} 1.0' in text
    assert 'animerec_api_cache_lookups_total{cache="user_recs",result="hit"} 2.0' in text
    assert 'animerec_api_cache_lookups_total{cache="cards",result="hit"}' in text  # second request hit the cache


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/users/{name}/recommendations" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "/v1/feedback" in page.text and "text/html" in page.headers["content-type"]


def test_healthz_and_readyz_without_kafka(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {"redis": "ok", "kafka": "unreachable",
                                                                   "published": "yes"}


def test_readyz_with_kafka(redis_url, published, kafka_bootstrap, make_client):
    with make_client(redis_url, kafka=kafka_bootstrap) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["version"] == "v1"


def test_page_escapes_what_the_user_typed(client):
    r = client.get("/", params={"user": '"><script>alert(1)</script>'})
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text
    assert "does not look like a MyAnimeList user name" in r.text


def test_page_renders_five_cards_from_the_top_20(client, published):
    r = client.get("/", params={"user": "Xinil"})
    assert r.status_code == 200
    top20 = [a for a, _, _ in published.user_recs["Xinil"] if a not in published.seen["Xinil"]][:20]
    cards = r.text.split('<div id="cards" class="cards">', 1)[1].split("</section>", 1)[0]  # not the <template>
    shown = [int(x) for x in re.findall(r'<article class="card" data-anime-id="(\d+)"', cards)]
    assert len(shown) == 5 and set(shown) <= set(top20)


def test_metric_labels_cannot_be_minted_by_clients(client):
    for i in range(3):
        assert client.request(f"BREW{i}", "/v1/trending").status_code == 405
        client.get(f"/random/path/{i}")
    text = client.get("/metrics").text
    assert "BREW" not in text and "/random/path" not in text
    assert 'method="other",route="/v1/trending",status="405"} 3.0' in text
    assert 'route="unmatched",status="404"} 3.0' in text


def test_unexpected_errors_are_json_500_with_security_headers(client):
    async def broken(n):
        raise RuntimeError("bug")

    client.app.state.services.recommender.trending = broken
    r = client.get("/v1/trending")
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal" and "bug" not in r.text
    assert SECURITY <= set(r.headers)
