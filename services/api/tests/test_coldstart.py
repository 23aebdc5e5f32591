"""Unknown users: fallback, an on-demand crawl through the crawler's POST /crawl contract, then recommendations
from the similar-anime lists of their recently completed anime, without a new batch run.

The crawler here is a small Starlette app speaking the crawler service's /crawl contract (request
{"urls": [...], "wait": true}; answer {"results": [{"url", "status", "items": [...]}]}), whose items are
checked against the event schemas before they are served: it lets these tests force failures, delays and
private profiles in milliseconds. test_e2e_crawler.py runs the same path through the real crawler service."""

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from animerec.api import coldstart
from animerec.common import contracts

pytestmark = pytest.mark.integration

RECS = "/v1/users/{}/recommendations"
NOW = "2026-11-20T10:00:00Z"


class FakeCrawler:
    def __init__(self, world) -> None:
        self.world = world
        self.calls: list[dict] = []
        self.fail = False
        self.delay = 0.0

    def items(self, user: str) -> tuple[str, list[dict]]:
        meta = {"crawled_at": NOW, "source": "mal", "source_url": f"https://myanimelist.net/profile/{user}"}
        if user.lower() == "ghost":
            return "not_found", []
        profile = {"item_type": "profile", "user_name": user, "private": user.lower() == "hidden", **meta}
        if user.lower() == "hidden":
            return "ok", [profile]
        w = self.world
        entries = [  # completed recently: ids[20] then ids[21]; ids[22] dropped; ids[23] plan to watch
            (w.ids[20], "completed", 9, "2026-11-19T10:00:00Z"), (w.ids[21], "completed", None, "2026-11-01T10:00:00Z"),
            (w.ids[22], "dropped", 3, "2026-11-18T10:00:00Z"), (w.ids[23], "plan_to_watch", None, None)]
        items = [profile] + [{"item_type": "animelist_entry", "user_name": user, "anime_id": a, "status": s,
                              "score": sc, "last_interaction_date": d, "anime_title": w.by_id[a]["title"], **meta}
                             for a, s, sc, d in entries]
        return "ok", items

    def app(self) -> Starlette:
        async def crawl(request: Request):
            body = await request.json()
            assert set(body) == {"urls", "wait"} and body["wait"] is True
            self.calls.append(body)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.fail:
                return JSONResponse({"error": "boom"}, status_code=500)
            results = []
            for url in body["urls"]:
                assert url.startswith("https://myanimelist.net/profile/")
                status, items = self.items(url.rsplit("/", 1)[1])
                for item in items:
                    contracts.validate(item["item_type"], item)
                results.append({"url": url, "kind": "profile", "source": "mal", "status": status,
                                "items": items, "item_count": len(items), "errors": []})
            return JSONResponse({"results": results})
        return Starlette(routes=[Route("/crawl", crawl, methods=["POST"])])


@pytest.fixture()
def crawler(published):
    return FakeCrawler(published)


@pytest.fixture()
def cold_client(redis_url, make_client, crawler):
    def open_client(**settings):
        settings.setdefault("crawler_url", "http://crawler.test:8081/")
        return make_client(redis_url, crawler_transport=httpx.ASGITransport(app=crawler.app()),
                           version_cache_seconds=0, **settings)
    return open_client


def wait_for(client, user, source, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(RECS.format(user), params={"n": 50}).json()
        if body["source"] == source:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{user} never got source={source}; last answer {body}")


def test_unknown_user_is_crawled_once_then_recommended_from_recent_completions(cold_client, crawler, published):
    with cold_client() as c:
        first = c.get(RECS.format("NewFan"), params={"n": 5}).json()
        assert first["source"] == "fallback" and first["crawl"] == "requested"
        assert "being fetched" in first["message"]
        body = wait_for(c, "NewFan", "recent_completed")
        for _ in range(3):
            c.get(RECS.format("newfan"))
    assert len(crawler.calls) == 1, "de-duplicated: one crawl per user"
    assert crawler.calls[0]["urls"] == ["https://myanimelist.net/profile/NewFan"]

    w = published
    listed = {w.ids[20], w.ids[21], w.ids[22], w.ids[23]}
    ids = [i["anime_id"] for i in body["items"]]
    assert ids and not set(ids) & listed
    # the same ranking as the blend of the two completed anime's similar lists (newest first, scores weighted)
    seeds = [(w.ids[20], 0.9), (w.ids[21], 0.7)]
    expected = coldstart.blend(seeds, {s: w.similar[s] for s, _ in seeds}, listed)
    assert ids == [a for a, _, _ in expected][:50]
    titles = {w.by_id[w.ids[20]]["title"], w.by_id[w.ids[21]]["title"]}
    assert {i["reason"].removeprefix("because you completed ") for i in body["items"]} <= titles
    assert body["crawl"] == "done" and body["items"][0]["title"]


def test_concurrent_requests_start_one_crawl(cold_client, crawler):
    crawler.delay = 0.3
    with cold_client() as c:
        states = [c.get(RECS.format("Busy_One")).json()["crawl"] for _ in range(5)]
        wait_for(c, "Busy_One", "recent_completed")
    assert states[0] == "requested" and set(states[1:]) == {"pending"}
    assert len(crawler.calls) == 1


def test_crawls_are_rate_limited(cold_client, crawler):
    if time.time() % 60 > 57:  # keep the three requests inside one rate window
        time.sleep(60 - time.time() % 60 + 0.1)
    with cold_client(crawl_rate_per_minute=2) as c:
        states = [c.get(RECS.format(f"user_{i}")).json()["crawl"] for i in range(3)]
        assert states == ["requested", "requested", "rate_limited"]
        body = c.get(RECS.format("user_9")).json()
        assert body["source"] == "fallback" and "try again in a few minutes" in body["message"]


def test_failed_crawl_is_reported_and_retried_later(cold_client, crawler):
    crawler.fail = True
    with cold_client(crawl_retry_seconds=1) as c:
        assert c.get(RECS.format("Unlucky")).json()["crawl"] == "requested"
        deadline = time.monotonic() + 5
        while c.get(RECS.format("Unlucky")).json()["crawl"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(crawler.calls) == 1
        time.sleep(1.2)
        crawler.fail = False
        assert c.get(RECS.format("Unlucky")).json()["crawl"] == "requested"
        wait_for(c, "Unlucky", "recent_completed")
    assert len(crawler.calls) == 2


def test_missing_and_private_profiles(cold_client, crawler):
    with cold_client() as c:
        c.get(RECS.format("Ghost"))
        c.get(RECS.format("Hidden"))
        deadline = time.monotonic() + 5
        while True:
            ghost = c.get(RECS.format("Ghost")).json()
            hidden = c.get(RECS.format("Hidden")).json()
            if ghost["crawl"] not in ("requested", "pending") and hidden["crawl"] not in ("requested", "pending"):
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # MAL answered 404 for the profile: a definitive "no such user", not "we will try again later"
    assert ghost["crawl"] == "not_found" and ghost["source"] == "fallback"
    assert "no such MyAnimeList user" in ghost["message"] and "try again" not in ghost["message"]
    assert hidden["crawl"] == "done" and hidden["source"] == "fallback" and "empty, private" in hidden["message"]


def test_web_page_tells_unknown_users_what_happens(cold_client):
    with cold_client() as c:
        page = c.get("/", params={"user": "Brand_New"})
    assert page.status_code == 200
    assert "being fetched" in page.text and "Trending right now" in page.text
